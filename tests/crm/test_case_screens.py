"""The case list and detail pages (cases/screens.py on crm's generic record views)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import Case
from crm.models import Note
from crm.records import record_create

pytestmark = pytest.mark.django_db


def _case(user, **fields) -> Case:
    fields.setdefault("assigned_user", user)
    fields.setdefault("name", "Printer broken")
    return record_create(Case(**fields), user=user)


def test_agent_sees_own_cases_only_with_own_level(make_user, logged_in):
    agent, other = make_user(level="own"), make_user(level="own")
    mine, theirs = _case(agent, name="Mine"), _case(other, name="Theirs")
    client = logged_in(agent)
    page = client.get(reverse("cases:case-list"))
    assert mine.display_number in page.content.decode()
    assert "Theirs" not in page.content.decode()
    assert client.get(reverse("cases:case-detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("cases:case-edit", args=[theirs.pk])).status_code == 404


def test_team_level_sees_the_team_queue(make_user, logged_in, team):
    lead = make_user(level="team", teams=[team])
    queued = _case(make_user(level="own"), name="Queued", assigned_user=None)
    queued.teams.set([team])
    page = logged_in(lead).get(reverse("cases:case-list"), {"unassigned": "on"})
    assert "Queued" in page.content.decode()


def test_list_filters_by_status_priority_and_number(make_user, logged_in):
    admin = make_user(admin=True)
    open_case = _case(admin, name="Open one", priority=Case.Priority.HIGH)
    closed = _case(admin, name="Closed one", status=Case.Status.CLOSED)
    client = logged_in(admin)
    body = client.get(reverse("cases:case-list"), {"open": "on"}).content.decode()
    assert "Open one" in body and "Closed one" not in body
    body = client.get(reverse("cases:case-list"), {"status": "closed"}).content.decode()
    assert "Closed one" in body and "Open one" not in body
    body = client.get(reverse("cases:case-list"), {"priority": "high"}).content.decode()
    assert "Open one" in body and "Closed one" not in body
    body = client.get(reverse("cases:case-list"), {"q": f"#{closed.number}"}).content.decode()
    assert "Closed one" in body and "Open one" not in body
    body = client.get(reverse("cases:case-list"), {"sort": "-priority"}).content.decode()
    assert open_case.display_number in body


def test_detail_shows_number_stream_and_a_status_change_note(make_user, logged_in):
    agent = make_user(level="own")
    case = _case(agent)
    client = logged_in(agent)
    page = client.get(reverse("cases:case-detail", args=[case.pk]))
    assert page.status_code == 200
    assert case.display_number in page.content.decode()
    response = client.post(
        reverse("cases:case-edit", args=[case.pk]),
        {
            "name": case.name,
            "status": Case.Status.PENDING,
            "priority": case.priority,
            "type": "",
            "description": "",
            "assigned_user": agent.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Note.objects.filter(parent_id=case.pk, type=Note.Type.STATUS).exists()


def test_creating_a_case_gives_it_the_next_number(make_user, logged_in):
    agent = make_user(level="own")
    response = logged_in(agent).post(
        reverse("cases:case-create"),
        {"name": "By hand", "status": "new", "priority": "normal", "assigned_user": agent.pk},
    )
    assert response.status_code == 302
    case = Case.objects.get(name="By hand")
    assert case.number >= 1 and case.created_by == agent


def test_case_search_finds_words_of_the_contact_and_of_the_case_emails(make_user, logged_in):
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Contact
    from tests.mailboxes.ui.conftest import email_create

    agent, other = make_user(level="own"), make_user(level="own")
    contact = record_create(Contact(first_name="Gülşen", last_name="Öztürk"), user=agent)
    _case(agent, name="Printer", contact=contact)
    by_email = _case(agent, name="Login problem")
    hidden = _case(other, name="Someone else's")
    case_type = ContentType.objects.get_for_model(Case)
    email_create(
        users=[agent],
        subject="Re: login",
        body_text="Şifremi sıfırladım, iade istemiyorum.",
        parent_type=case_type,
        parent_id=by_email.pk,
    )
    email_create(
        users=[other],
        subject="Re: other",
        body_text="İade talebim var.",
        parent_type=case_type,
        parent_id=hidden.pk,
    )
    client = logged_in(agent)

    def listed(text: str) -> set[str]:
        page = client.get(reverse("cases:case-list"), {"q": text})
        return {case.name for case in page.context["page_obj"].object_list}

    assert listed("Öztürk") == {"Printer"}
    assert listed("gulsen ozturk") == {"Printer"}  # typed without Turkish letters
    assert listed("IADE") == {"Login problem"}  # the email's text; not the hidden case
    assert listed("sifremi") == {"Login problem"}
    assert listed("from:customer@example.com") == {"Login problem"}
