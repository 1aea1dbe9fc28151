"""Email filters over the API: the filter pages' rules in the four scopes."""

from __future__ import annotations

from filters.models import EmailFilter
from mailboxes.models import EmailFolder, GroupEmailAccount

FILTERS = "/api/v1/filters/"


def test_inbox_filter_with_a_new_folder(make_user, api_client):
    me = make_user(level="own")
    client = api_client(me)
    response = client.post(
        FILTERS,
        {
            "scope": "user_inbox",
            "name": "Invoices",
            "from_pattern": "*@billing.example",
            "body_contains_any": ["invoice", "fatura"],
            "action": "move_to_folder",
            "new_folder": "Invoices",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    folder = EmailFolder.objects.get(user=me, name="Invoices")
    assert body["folder"] == folder.pk and body["user"] == me.pk
    assert body["body_contains_any"] == ["invoice", "fatura"]
    changed = client.patch(f"{FILTERS}{body['id']}/", {"is_active": False}, format="json")
    assert changed.status_code == 200
    stored = EmailFilter.objects.get(pk=body["id"])
    assert not stored.is_active and stored.body_contains_any == ["invoice", "fatura"]
    assert stored.folder == folder  # untouched by the PATCH
    assert client.delete(f"{FILTERS}{body['id']}/").status_code == 204


def test_the_models_rules_answer_400(make_user, api_client):
    client = api_client(make_user(level="own"))
    response = client.post(
        FILTERS,
        {"scope": "user_inbox", "name": "Nothing", "action": "move_to_folder"},
        format="json",
    )
    assert response.status_code == 400
    assert not EmailFilter.objects.exists()


def test_global_and_group_filters_are_for_administrators(make_user, api_client):
    user, admin = make_user(level="all"), make_user(admin=True)
    account = GroupEmailAccount.objects.create(
        name="Support", email_address="support@example.test", use_imap=False
    )
    payload = {"scope": "global", "name": "Spam", "subject_pattern": "*viagra*", "action": "skip"}
    assert api_client(user).post(FILTERS, payload, format="json").status_code == 403
    admin_client = api_client(admin)
    assert admin_client.post(FILTERS, payload, format="json").status_code == 201
    group = admin_client.post(
        FILTERS,
        {**payload, "scope": "group_account", "group_account": account.pk},
        format="json",
    )
    assert group.status_code == 201, group.json()
    assert api_client(user).get(FILTERS).json()["results"] == []


def test_anothers_filter_does_not_exist(make_user, api_client):
    me, other = make_user(level="own"), make_user(level="own")
    theirs = EmailFilter.objects.create(
        scope="user_inbox", user=other, name="Private", subject_pattern="x", action="none"
    )
    client = api_client(me)
    url = f"{FILTERS}{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "Mine"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert EmailFilter.objects.get(pk=theirs.pk).name == "Private"
