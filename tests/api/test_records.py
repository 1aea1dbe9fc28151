"""Accounts, contacts, leads and opportunities over the API: the UI's forms validate, the
access levels hide, and an address finds only what the caller may see."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Account, Contact, Note, Notification
from crm.stream import note_create

KINDS = {
    "accounts": {"name": "ACME", "website": "acme.example", "email_addresses": ["a@acme.example"]},
    "contacts": {"last_name": "Yılmaz", "email_addresses": ["ayse@acme.example"]},
    "leads": {"last_name": "Demir", "status": "new", "source": "web_site"},
    "opportunities": {"name": "Renewal", "stage": "prospecting", "amount": "1200.50"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_crud(kind, make_user, api_client):
    user = make_user(level="own")
    client = api_client(user)
    url = f"/api/v1/{kind}/"
    created = client.post(url, KINDS[kind], format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert client.get(f"{url}{pk}/").status_code == 200
    changed = client.patch(f"{url}{pk}/", {"description": "Changed"}, format="json")
    assert changed.status_code == 200 and changed.json()["description"] == "Changed"
    assert [r["id"] for r in client.get(url).json()["results"]] == [pk]
    assert client.delete(f"{url}{pk}/").status_code == 204
    assert client.get(f"{url}{pk}/").status_code == 404


def test_addresses_and_website_as_the_form_cleans_them(make_user, api_client):
    client = api_client(make_user(level="own"))
    body = client.post("/api/v1/accounts/", KINDS["accounts"], format="json").json()
    assert body["website"] == "https://acme.example"  # the form's assume_scheme
    assert body["email_addresses"] == ["a@acme.example"]


def test_invalid_input_is_a_problem_with_field_errors(make_user, api_client):
    client = api_client(make_user(level="own"))
    response = client.post("/api/v1/contacts/", {"first_name": "No last name"}, format="json")
    assert response.status_code == 400
    assert "last_name" in response.json()["errors"]
    bad = client.post(
        "/api/v1/contacts/",
        {"last_name": "X", "email_addresses": ["not-an-address"]},
        format="json",
    )
    assert bad.status_code == 400


def test_an_account_the_caller_may_not_see_cannot_be_picked(make_user, make_record, api_client):
    me, other = make_user(level="own"), make_user(level="own")
    hidden = make_record("account", other)
    client = api_client(me)
    response = client.post(
        "/api/v1/contacts/", {"last_name": "X", "account": hidden.pk}, format="json"
    )
    assert response.status_code == 400
    assert not Contact.objects.filter(last_name="X").exists()


def test_assigning_tells_the_assignee(make_user, api_client):
    me, colleague = make_user(level="all"), make_user(level="all")
    client = api_client(me)
    body = client.post(
        "/api/v1/accounts/", {"name": "Beta", "assigned_user": colleague.pk}, format="json"
    ).json()
    assert Notification.objects.filter(user=colleague, type="assigned").exists()
    assert Note.objects.filter(parent_id=body["id"], type=Note.Type.CREATE).exists()


def test_anothers_account_cannot_be_read_changed_or_detected(make_user, make_record, api_client):
    me, other = make_user(level="own"), make_user(level="own")
    theirs = make_record("account", other, name="Secret Ltd", addresses=["ceo@secret.example"])
    client = api_client(me)
    url = f"/api/v1/accounts/{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "Mine now"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get("/api/v1/accounts/", {"q": "Secret"}).json()["results"] == []
    found = client.get("/api/v1/records-by-email/", {"address": "ceo@secret.example"}).json()
    assert found == {"accounts": [], "contacts": [], "leads": []}
    assert Account.objects.get(pk=theirs.pk).name == "Secret Ltd"


def test_find_by_email_address(make_user, make_record, api_client):
    me = make_user(level="own")
    account = make_record("account", me, addresses=["info@acme.example"])
    contact = make_record("contact", me, addresses=["INFO@acme.example"])
    client = api_client(me)
    found = client.get("/api/v1/records-by-email/", {"address": "Info@Acme.example"}).json()
    assert found == {"accounts": [account.pk], "contacts": [contact.pk], "leads": []}
    assert client.get("/api/v1/records-by-email/", {"address": ""}).status_code == 400


@pytest.mark.parametrize("kind", ["account", "contact", "lead", "opportunity"])
def test_list_query_count_is_flat(kind, make_user, make_record, api_client):
    me = make_user(level="team")
    client = api_client(me)
    url = f"/api/v1/{'opportunities' if kind == 'opportunity' else kind + 's'}/"
    make_record(kind, me, addresses=["x@example.com"] if kind != "opportunity" else None)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    count()
    few = count()
    for n in range(10):
        make_record(kind, me, addresses=[f"x{n}@example.com"] if kind != "opportunity" else None)
    assert count() == few


def test_account_stream_holds_its_contacts_notes_the_caller_may_see(
    make_user, make_record, api_client
):
    me, other = make_user(level="own"), make_user(level="own")
    account = make_record("account", me, assigned_user=me)
    mine = make_record("contact", me, account=account)
    theirs = make_record("contact", other, account=account)
    client = api_client(me)
    assert (
        client.post(
            f"/api/v1/contacts/{mine.pk}/stream/", {"body": "Called"}, format="json"
        ).status_code
        == 201
    )
    note_create(parent=theirs, author=other, body="Private remark")
    bodies = [
        n["body"] for n in client.get(f"/api/v1/accounts/{account.pk}/stream/").json()["results"]
    ]
    assert "Called" in bodies and "Private remark" not in bodies
