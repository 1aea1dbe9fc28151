"""Cases over the API: the UI's rules (form validation, access levels, stream) apply."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from crm.models import Lead, Note, Notification, Team
from crm.records import record_create

CASES = "/api/v1/cases/"


def make_case(owner, **fields) -> Case:
    fields.setdefault("name", f"case of {owner}")
    fields.setdefault("assigned_user", owner)
    return record_create(Case(**fields), user=owner)


def test_create_list_filter_and_read(make_user, api_client):
    agent = make_user(level="all")
    client = api_client(agent)
    response = client.post(CASES, {"name": "Printer on fire", "priority": "urgent"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new" and body["priority"] == "urgent"
    case = Case.objects.get(pk=body["id"])
    assert case.created_by == agent
    # the number customers quote ([#N]) is shown, and never written
    assert body["number"] == case.number and body["group_account"] is None
    client.patch(f"{CASES}{case.pk}/", {"number": 999999}, format="json")
    case.refresh_from_db()
    assert case.number == body["number"]
    # the UI's side effects: the creator follows, the stream says who created it
    assert case.notes.filter(type=Note.Type.CREATE).exists()
    make_case(agent, name="Other", priority="low")

    listed = client.get(CASES, {"q": "printer"}).json()
    assert [c["id"] for c in listed["results"]] == [case.pk]
    assert client.get(f"{CASES}{case.pk}/").json()["name"] == "Printer on fire"


def test_create_uses_the_forms_validation(make_user, api_client):
    client = api_client(make_user(level="all"))
    response = client.post(CASES, {"name": "", "status": "bogus"}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert set(errors) >= {"name", "status"}


def test_create_from_a_web_form_links_the_contact(make_user, make_record, api_client):
    agent = make_user(level="all")
    account = make_record("account", agent, name="ACME")
    contact = make_record(
        "contact", agent, account=account, addresses=["ayse@acme.example"], last_name="Yılmaz"
    )
    client = api_client(agent)
    response = client.post(
        CASES,
        {
            "name": "Cannot log in",
            "customer": {
                "email": "Ayse@ACME.example",
                "name": "Ayşe",
                "message": "Since this morning.",
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["contact"] == contact.pk and body["account"] == account.pk
    assert body["description"] == "Since this morning."


def test_update_status_priority_assignee_and_team(make_user, api_client):
    agent = make_user(level="all")
    colleague = make_user(level="all")
    team = Team.objects.create(name="Support")
    case = make_case(agent)
    client = api_client(agent)
    response = client.patch(
        f"{CASES}{case.pk}/",
        {
            "status": "pending",
            "priority": "high",
            "assigned_user": colleague.pk,
            "teams": [team.pk],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    case.refresh_from_db()
    assert (case.status, case.priority, case.assigned_user) == ("pending", "high", colleague)
    assert list(case.teams.all()) == [team]
    assert case.name == f"case of {agent}"  # untouched by PATCH
    # the assignee is told, as from the edit page
    assert Notification.objects.filter(user=colleague, type="assigned").exists()
    assert case.notes.filter(type=Note.Type.STATUS).exists()


def test_note_stream_close_and_reopen(make_user, api_client):
    agent = make_user(level="all")
    case = make_case(agent)
    client = api_client(agent)
    note = client.post(f"{CASES}{case.pk}/stream/", {"body": "Called the customer"}, format="json")
    assert note.status_code == 201
    stream = client.get(f"{CASES}{case.pk}/stream/").json()
    assert stream["results"][0]["body"] == "Called the customer"
    assert "next" in stream  # a cursor, not page numbers

    closed = client.post(f"{CASES}{case.pk}/close/").json()
    assert closed["status"] == "closed"
    reopened = client.post(f"{CASES}{case.pk}/reopen/").json()
    assert reopened["status"] == "assigned"


def test_a_streams_cursor_is_stable_while_notes_arrive(make_user, api_client):
    agent = make_user(level="all")
    case = make_case(agent)
    client = api_client(agent)
    for n in range(4):
        client.post(f"{CASES}{case.pk}/stream/", {"body": f"note {n}"}, format="json")
    first = client.get(f"{CASES}{case.pk}/stream/", {"page_size": 2}).json()
    client.post(f"{CASES}{case.pk}/stream/", {"body": "newer"}, format="json")
    seen = [n["body"] for n in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [n["body"] for n in page["results"]]
        url = page["next"]
    # newest first, each once, the one that came in meanwhile not shifting the pages
    assert seen == ["note 3", "note 2", "note 1", "note 0", ""]  # "" the creation note


def test_cases_of_others_do_not_exist(make_user, api_client):
    me = make_user(level="own")
    stranger = make_user(level="own")
    theirs = make_case(stranger)
    client = api_client(me)
    url = f"{CASES}{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"status": "closed"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.post(f"{url}stream/", {"body": "x"}, format="json").status_code == 404
    assert client.post(f"{url}close/").status_code == 404
    assert client.get(CASES).json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.status != "closed"


def test_no_access_level_may_not_create(make_user, api_client):
    client = api_client(make_user(level="no"))
    assert client.post(CASES, {"name": "x"}, format="json").status_code == 403


def test_case_and_notification_lists_query_count_is_flat(make_user, api_client):
    me = make_user(level="team")
    colleague = make_user(level="all")
    client = api_client(me)
    make_case(colleague, assigned_user=me)  # one of each before counting

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    count(CASES)
    few = {url: count(url) for url in (CASES, "/api/v1/notifications/")}
    for n in range(10):
        make_case(colleague, name=f"case {n}", assigned_user=me)  # each notifies me
    assert {url: count(url) for url in few} == few


def test_a_web_form_from_a_stranger_makes_a_lead_to_answer(make_user, api_client):
    agent = make_user(level="all")
    client = api_client(agent)
    response = client.post(
        CASES,
        {"name": "Price?", "customer": {"email": "new@prospect.example", "message": "How much?"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get(pk=response.json()["lead"])
    assert lead.email_addresses == ["new@prospect.example"] and lead.source == "web_site"
    refused = client.post(
        CASES,
        {"name": "", "customer": {"email": "other@prospect.example", "message": "x"}},
        format="json",
    )
    assert refused.status_code == 400
    assert not Lead.objects.filter(last_name="other@prospect.example").exists()
