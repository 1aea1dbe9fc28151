"""Email accounts over the API: the account pages' forms and rules; passwords write-only."""

from __future__ import annotations

from cases.models import GroupAccountCases
from mailboxes.models import GroupEmailAccount, PersonalEmailAccount
from tests.mailboxes.sending.conftest import smtp_fields


def group_account(**fields) -> GroupEmailAccount:
    values = {
        "name": "Support",
        "email_address": "support@example.test",
        "use_imap": False,
        "use_smtp": True,
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_password": "s3cret-smtp",
    }
    return GroupEmailAccount.objects.create(**(values | fields))


def test_administrator_reads_and_updates_a_group_account(make_user, api_client):
    admin = make_user(admin=True)
    account = group_account()
    GroupAccountCases.objects.update_or_create(account=account, defaults={"create_case": True})
    client = api_client(admin)
    url = f"/api/v1/group-email-accounts/{account.pk}/"
    body = client.get(url).json()
    assert body["name"] == "Support"
    assert "smtp_password" not in body and "s3cret-smtp" not in str(body)
    changed = client.patch(url, {"from_name": "Destek"}, format="json")
    assert changed.status_code == 200, changed.json()
    account.refresh_from_db()
    assert account.from_name == "Destek"
    assert account.smtp_password == "s3cret-smtp"  # an absent password is kept
    assert GroupAccountCases.objects.get(account=account).create_case  # other panels kept
    client.patch(url, {"smtp_password": "new-one"}, format="json")
    account.refresh_from_db()
    assert account.smtp_password == "new-one"


def test_the_ssrf_guard_refuses_private_hosts(make_user, api_client):
    admin = make_user(admin=True)
    account = group_account()
    client = api_client(admin)
    response = client.patch(
        f"/api/v1/group-email-accounts/{account.pk}/", {"smtp_host": "10.1.2.3"}, format="json"
    )
    assert response.status_code == 400
    assert "smtp_host" in response.json()["errors"]
    account.refresh_from_db()
    assert account.smtp_host == "127.0.0.1"


def test_group_accounts_are_for_administrators_only(make_user, api_client):
    account = group_account()
    client = api_client(make_user(level="all"))
    assert client.get("/api/v1/group-email-accounts/").status_code == 403
    url = f"/api/v1/group-email-accounts/{account.pk}/"
    assert client.patch(url, {"name": "Mine"}, format="json").status_code == 403


def test_personal_accounts_of_others_do_not_exist(make_user, api_client, smtp_server):
    me, other = make_user(level="own"), make_user(level="own")
    mine = PersonalEmailAccount.objects.create(
        owner=me,
        name="Mine",
        email_address="me@example.test",
        use_imap=False,
        **smtp_fields(smtp_server),
    )
    theirs = PersonalEmailAccount.objects.create(
        owner=other,
        name="Theirs",
        email_address="them@example.test",
        use_imap=False,
        **smtp_fields(smtp_server),
    )
    client = api_client(me)
    listed = client.get("/api/v1/personal-email-accounts/").json()["results"]
    assert [a["id"] for a in listed] == [mine.pk]
    url = f"/api/v1/personal-email-accounts/{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x"}, format="json").status_code == 404
    renamed = client.patch(
        f"/api/v1/personal-email-accounts/{mine.pk}/", {"name": "Renamed"}, format="json"
    )
    assert renamed.status_code == 200, renamed.json()["errors"]
    assert renamed.json()["name"] == "Renamed"
