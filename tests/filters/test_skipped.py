"""What each filter skipped: kept in the journal with what the message was, listed for whoever
manages the filter, and imported anyway on request, exactly once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Team, TeamMembership, User
from filters.models import EmailFilter
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, EmailUser, RawMessage
from tests.mailboxes.conftest import make_message

from .conftest import save_filter

Action = EmailFilter.Action
Scope = EmailFilter.Scope

pytestmark = pytest.mark.django_db(transaction=True)


def skip_on(scope: str = Scope.GLOBAL, **fields) -> EmailFilter:
    fields.setdefault("name", "Bulk")
    return save_filter(scope=scope, action=Action.SKIP, **fields)


def test_skipped_messages_keep_their_message_id_sender_subject_and_date(
    dovecot, make_group_account
):
    mailbox = dovecot.add_user("support")
    dovecot.append(
        mailbox,
        "INBOX",
        make_message(
            subject="[BULK] Spring offer",
            sender="Deals <deals@shop.test>",
            message_id="<offer-1@shop.test>",
        ),
    )
    dovecot.append(
        mailbox,
        "INBOX",
        make_message(subject="Newsletter", body="unsubscribe here", message_id="<news@shop.test>"),
    )
    on_headers = skip_on(name="Bulk", subject_pattern="[bulk]*")
    on_body = skip_on(name="Unsubscribe", body_contains_any=["unsubscribe"])
    account = make_group_account(mailbox)

    assert fetch_account(account.pk).skipped == 2

    by_headers = RawMessage.objects.get(skip_filter_id=on_headers.pk)
    assert by_headers.headers_only  # skipped before its body was downloaded
    assert by_headers.message_id == "<offer-1@shop.test>"
    assert by_headers.sender == "Deals <deals@shop.test>"
    assert by_headers.subject == "[BULK] Spring offer"
    assert by_headers.date_sent is not None
    by_body = RawMessage.objects.get(skip_filter_id=on_body.pk)
    assert (by_body.message_id, by_body.subject) == ("<news@shop.test>", "Newsletter")


def test_admin_lists_what_a_global_filter_skipped_and_imports_one_anyway_exactly_once(
    dovecot, make_group_account, client
):
    team = Team.objects.create(name="Support")
    agent = User.objects.create_user("agent", email="agent@acme.test")
    TeamMembership.objects.create(team=team, user=agent)
    admin = User.objects.create_superuser("admin", "admin@acme.test", "pw")
    mailbox = dovecot.add_user("support")
    dovecot.append(
        mailbox,
        "INBOX",
        make_message(subject="[BULK] Actually an order", body="Please send 40 chairs."),
    )
    bulk = skip_on(subject_pattern="[bulk]*")
    account = make_group_account(mailbox, teams=[team])
    fetch_account(account.pk)
    raw = RawMessage.objects.get()
    assert raw.status == RawMessage.Status.SKIPPED and raw.headers_only

    client.force_login(admin)
    listing = client.get(reverse("filters:skipped", args=[bulk.pk])).content.decode()
    assert "[BULK] Actually an order" in listing and "Import it anyway" in listing
    admin_list = client.get(reverse("filters:admin-list")).content.decode()
    assert reverse("filters:skipped", args=[bulk.pk]) in admin_list

    url = reverse("filters:skipped-import", args=[bulk.pk, raw.pk])
    response = client.post(url, follow=True)
    assert "The message was imported." in response.content.decode()
    email = Email.objects.get()
    assert email.subject == "[BULK] Actually an order"
    assert "40 chairs" in email.body_text  # the body came from the server
    assert EmailUser.objects.filter(email=email, user=agent).exists()

    # a second click, a new fetch: still one email, one journal row
    client.post(url)
    fetch_account(account.pk)
    assert Email.objects.count() == 1
    raw.refresh_from_db()
    assert (raw.status, raw.email_id, raw.headers_only) == ("imported", email.pk, False)
    assert RawMessage.objects.count() == 1
    listing = client.get(reverse("filters:skipped", args=[bulk.pk])).content.decode()
    assert 'data-testid="import-anyway"' not in listing
    assert reverse("mailboxes:email-detail", args=[email.pk]) in listing


def test_import_anyway_of_a_message_gone_from_the_server_says_so(
    dovecot, make_group_account, client
):
    admin = User.objects.create_superuser("admin", "admin@acme.test", "pw")
    mailbox = dovecot.add_user("support")
    dovecot.append(mailbox, "INBOX", make_message(subject="[BULK] Gone soon"))
    bulk = skip_on(subject_pattern="[bulk]*")
    account = make_group_account(mailbox)
    fetch_account(account.pk)
    raw = RawMessage.objects.get()
    with dovecot.client(mailbox) as imap:  # somebody deletes it on the server
        imap.select_folder("INBOX")
        imap.delete_messages(imap.search("ALL"))
        imap.expunge()

    client.force_login(admin)
    response = client.post(reverse("filters:skipped-import", args=[bulk.pk, raw.pk]), follow=True)
    assert "The server no longer has this message" in response.content.decode()
    raw.refresh_from_db()
    assert raw.status == RawMessage.Status.SKIPPED and not Email.objects.exists()


def test_users_see_what_their_own_filters_skipped_and_nothing_else(
    dovecot, make_personal_account, client
):
    alice = User.objects.create_user("alice", email="alice@acme.test")
    bob = User.objects.create_user("bob", email="bob@acme.test")
    mailbox = dovecot.add_user("alice")
    dovecot.append(mailbox, "INBOX", make_message(subject="Weekly digest", sender="d@news.test"))
    dovecot.append(mailbox, "INBOX", make_message(subject="Prize!", sender="x@spam.test"))
    account = make_personal_account(alice, mailbox)
    own = skip_on(
        scope=Scope.PERSONAL_ACCOUNT,
        name="Digests",
        personal_account=account,
        from_pattern="*@news.test",
    )
    shared = skip_on(name="Spam", from_pattern="*@spam.test")
    fetch_account(account.pk)
    theirs = RawMessage.objects.get(skip_filter_id=own.pk)

    client.force_login(alice)
    page = client.get(reverse("filters:skipped", args=[own.pk])).content.decode()
    assert "Weekly digest" in page and "Prize!" not in page
    assert (
        reverse("filters:skipped", args=[own.pk])
        in client.get(reverse("filters:my-list")).content.decode()
    )
    # a global filter is the administrators' (403); another user's filter is not there (404)
    assert client.get(reverse("filters:skipped", args=[shared.pk])).status_code == 404
    spam = RawMessage.objects.get(skip_filter_id=shared.pk)
    url = reverse("filters:skipped-import", args=[shared.pk, spam.pk])
    assert client.post(url).status_code == 404
    client.force_login(bob)
    assert client.get(reverse("filters:skipped", args=[own.pk])).status_code == 404
    url = reverse("filters:skipped-import", args=[own.pk, theirs.pk])
    assert client.post(url).status_code == 404
    assert not Email.objects.filter(subject="Weekly digest").exists()


def test_two_people_importing_the_same_message_at_once_import_it_once(dovecot, make_group_account):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from mailboxes.intake.fetch import raw_message_import_anyway

    mailbox = dovecot.add_user("support")
    dovecot.append(mailbox, "INBOX", make_message(subject="[BULK] Twice clicked"))
    skip_on(subject_pattern="[bulk]*")
    account = make_group_account(mailbox)
    fetch_account(account.pk)
    raw = RawMessage.objects.get()

    def click(_n: int) -> str:
        try:
            return raw_message_import_anyway(raw.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(click, range(2)))

    assert outcomes == ["imported", "imported"]  # one imported it, the other found it done
    assert Email.objects.filter(subject="[BULK] Twice clicked").count() == 1
    raw.refresh_from_db()
    assert raw.status == RawMessage.Status.IMPORTED and RawMessage.objects.count() == 1
