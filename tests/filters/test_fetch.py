"""Filters at work in real fetches from Dovecot: skips, moves, inbox filters and statistics."""

from __future__ import annotations

import re

import pytest

from crm.models import Team, TeamMembership, User
from filters.models import EmailFilter
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, EmailFolder, EmailUser, GroupEmailFolder, RawMessage
from tests.mailboxes.conftest import make_message

from .conftest import save_filter

Action = EmailFilter.Action
Scope = EmailFilter.Scope

pytestmark = pytest.mark.django_db(transaction=True)

BIG_BODY = 300_000  # bytes of body in the "large" messages: far more than any headers


def session_out_bytes(dovecot, username: str) -> list[int]:
    """Bytes Dovecot sent in each IMAP session of the user (from its logout lines)."""
    return [
        int(m.group(1))
        for m in re.finditer(rf"imap\({re.escape(username)}\).*?out=(\d+)", dovecot.log())
    ]


def user_in_team(username: str, team: Team) -> User:
    user = User.objects.create_user(username, email=f"{username}@acme.test")
    TeamMembership.objects.create(team=team, user=user)
    return user


def test_global_skip_filter_prevents_import_from_group_and_personal_accounts(
    dovecot, make_group_account, make_personal_account
):
    shared, own = dovecot.add_user("support"), dovecot.add_user("own")
    owner = User.objects.create_user("owner", email="owner@acme.test")
    for mailbox in (shared, own):
        dovecot.append(mailbox, "INBOX", make_message(sender="Win <prize@spam.test>"))
        dovecot.append(mailbox, "INBOX", make_message(subject=f"Hello {mailbox.username}"))
    spam = save_filter(
        name="Spam", scope=Scope.GLOBAL, action=Action.SKIP, from_pattern="*@spam.test"
    )
    accounts = (make_group_account(shared), make_personal_account(owner, own))

    for account in accounts:
        summary = fetch_account(account.pk)
        assert (summary.fetched, summary.imported, summary.skipped) == (2, 1, 1)

    skipped = RawMessage.objects.filter(status=RawMessage.Status.SKIPPED)
    assert sorted(skipped.values_list("account_id", flat=True)) == sorted(a.pk for a in accounts)
    assert set(skipped.values_list("skipped_by", flat=True)) == {f"Spam (#{spam.pk})"}
    assert not skipped.filter(email__isnull=False).exists()
    assert sorted(Email.objects.values_list("subject", flat=True)) == sorted(
        f"Hello {mailbox.username}" for mailbox in (shared, own)
    )
    assert not Email.objects.filter(from_address__address="prize@spam.test").exists()


def test_header_only_skip_does_not_download_the_body(dovecot, make_group_account):
    """A Skip on headers leaves the body on the server; a Skip that reads the body cannot."""
    on_headers, on_body = dovecot.add_user("hdr"), dovecot.add_user("body")
    for mailbox in (on_headers, on_body):
        dovecot.append(
            mailbox,
            "INBOX",
            make_message(subject=f"[BULK] offer for {mailbox.username}", size=BIG_BODY),
        )
    header_skip = save_filter(
        name="Bulk", scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="[bulk]*"
    )
    header_account = make_group_account(on_headers)
    assert fetch_account(header_account.pk).skipped == 1
    header_session = session_out_bytes(dovecot, on_headers.username)[-1]
    header_label = header_skip.label

    header_skip.delete()
    save_filter(
        name="Lorem", scope=Scope.GLOBAL, action=Action.SKIP, body_contains_any=["lorem ipsum"]
    )
    body_account = make_group_account(on_body)
    assert fetch_account(body_account.pk).skipped == 1
    body_session = session_out_bytes(dovecot, on_body.username)[-1]

    assert header_session < 20_000 < BIG_BODY < body_session, dovecot.log()[-2000:]
    skipped_on_headers = RawMessage.objects.get(account=header_account)
    raw = bytes(skipped_on_headers.raw)
    assert skipped_on_headers.headers_only and b"lorem ipsum" not in raw and len(raw) < 2_000
    assert skipped_on_headers.skipped_by == header_label
    skipped_on_body = RawMessage.objects.get(account=body_account)
    assert not skipped_on_body.headers_only and b"lorem ipsum" in bytes(skipped_on_body.raw)
    assert not Email.objects.exists()


def test_group_account_move_puts_mail_in_the_group_folder_its_teams_see(
    dovecot, make_group_account
):
    support, billing = Team.objects.create(name="Support"), Team.objects.create(name="Billing")
    agent, accountant = user_in_team("agent", support), user_in_team("accountant", billing)
    folder = GroupEmailFolder.objects.create(name="Billing")
    folder.teams.add(billing)
    mailbox = dovecot.add_user("support")
    dovecot.append(mailbox, "INBOX", make_message(subject="Invoice 2026-17 overdue"))
    dovecot.append(mailbox, "INBOX", make_message(subject="My order is late"))
    account = make_group_account(mailbox, teams=[support])
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=folder,
        subject_pattern="*invoice*",
    )

    assert fetch_account(account.pk).imported == 2

    invoice = Email.objects.get(subject="Invoice 2026-17 overdue")
    order = Email.objects.get(subject="My order is late")
    assert invoice.group_folder == folder and order.group_folder is None
    assert set(invoice.teams.all()) == {support, billing}
    assert list(order.teams.all()) == [support]
    assert set(Email.objects.visible_to(accountant)) == {invoice}
    assert set(Email.objects.visible_to(agent)) == {invoice, order}


def test_inbox_filter_moves_a_group_email_for_its_owner_only(dovecot, make_group_account):
    support = Team.objects.create(name="Support")
    alice, bob = user_in_team("alice", support), user_in_team("bob", support)
    invoices = EmailFolder.objects.create(user=alice, name="Invoices")
    save_filter(
        user=alice,
        subject_pattern="*invoice*",
        action=Action.MOVE_TO_FOLDER,
        folder=invoices,
    )
    mailbox = dovecot.add_user("support")
    dovecot.append(mailbox, "INBOX", make_message(subject="Invoice 88"))
    dovecot.append(mailbox, "INBOX", make_message(subject="Lunch"))

    assert fetch_account(make_group_account(mailbox, teams=[support]).pk).imported == 2

    copies = {
        (row.user.username, row.email.subject): row
        for row in EmailUser.objects.select_related("user", "email")
    }
    assert copies["alice", "Invoice 88"].folder == invoices
    assert copies["alice", "Lunch"].folder is None
    bobs = copies["bob", "Invoice 88"]
    assert bobs.folder is None and not bobs.in_trash  # still in bob's Inbox
    assert Email.objects.visible_to(bob).filter(subject="Invoice 88").exists()


def test_inbox_filters_mark_as_read_skip_notification_and_trash(
    dovecot, make_group_account, make_personal_account
):
    support = Team.objects.create(name="Support")
    alice, bob = user_in_team("alice", support), user_in_team("bob", support)
    save_filter(
        user=alice,
        from_pattern="*@newsletter.test",
        action=Action.NONE,
        mark_as_read=True,
        no_notification=True,
    )
    save_filter(user=bob, from_pattern="*@newsletter.test", action=Action.SKIP)
    mailbox = dovecot.add_user("support")
    dovecot.append(mailbox, "INBOX", make_message(sender="news@newsletter.test"))
    dovecot.append(mailbox, "INBOX", make_message(sender="customer@example.test"))

    fetch_account(make_group_account(mailbox, teams=[support]).pk, notify=True)

    def copy(user, sender):
        return EmailUser.objects.get(user=user, email__from_address__address=sender)

    news = copy(alice, "news@newsletter.test")
    assert news.is_read and news.skip_notification and not news.in_trash and news.folder is None
    customer = copy(alice, "customer@example.test")
    assert not customer.is_read and not customer.skip_notification
    bobs_news = copy(bob, "news@newsletter.test")
    assert bobs_news.in_trash and bobs_news.skip_notification and not bobs_news.is_read
    assert not copy(bob, "customer@example.test").in_trash


def test_match_counts_and_last_matched_update_after_each_fetch(
    dovecot, make_group_account, settings
):
    settings.POSTACI_FETCH_BATCH_SIZE = 2  # statistics are flushed after every batch
    support = Team.objects.create(name="Support")
    alice = user_in_team("alice", support)
    spam = save_filter(
        name="Spam", scope=Scope.GLOBAL, action=Action.SKIP, from_pattern="*@spam.test"
    )
    flag = save_filter(name="Orders", user=alice, subject_pattern="*order*")
    idle = save_filter(name="Idle", user=alice, subject_pattern="nothing matches this")
    mailbox = dovecot.add_user("support")
    dovecot.append_many(
        mailbox,
        "INBOX",
        [make_message(sender="x@spam.test") for _ in range(3)]
        + [make_message(subject=f"Order {n}") for n in range(2)],
    )
    account = make_group_account(mailbox, teams=[support])

    fetch_account(account.pk)
    for f in (spam, flag, idle):
        f.refresh_from_db()
    assert (spam.match_count, flag.match_count, idle.match_count) == (3, 2, 0)
    assert spam.last_matched_at and flag.last_matched_at and idle.last_matched_at is None
    first_match = spam.last_matched_at

    dovecot.append(mailbox, "INBOX", make_message(sender="y@spam.test"))
    fetch_account(account.pk)
    spam.refresh_from_db()
    assert spam.match_count == 4 and spam.last_matched_at > first_match
