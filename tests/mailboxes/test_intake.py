"""Intake against the real Dovecot: exactly once, dedup across accounts, bad input, health."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from django.db import connection

from crm.models import Notification, Team, TeamMembership, User
from mailboxes.intake.fetch import fetch_account, raw_message_retry
from mailboxes.models import Attachment, Email, EmailUser, FolderCursor, MailAccount, RawMessage
from tests.mailboxes.conftest import make_message
from tests.shared import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)


def _logout_out_bytes(dovecot, username: str) -> list[int]:
    """Bytes Dovecot sent in each of the user's IMAP sessions (from its logout lines)."""
    return [
        int(m.group(1))
        for m in re.finditer(rf"imap\({re.escape(username)}\).*?out=(\d+)", dovecot.log())
    ]


def test_thousand_messages_imported_exactly_once_and_second_poll_downloads_nothing(
    dovecot, imap_user, make_group_account, settings
):
    settings.POSTACI_FETCH_BATCH_SIZE = 200
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(1000)])
    account = make_group_account(imap_user)

    first = fetch_account(account.pk)
    assert (first.fetched, first.imported, first.quarantined, first.errors) == (1000, 1000, 0, [])
    assert Email.objects.count() == 1000
    assert RawMessage.objects.filter(status=RawMessage.Status.IMPORTED).count() == 1000
    sessions_before = len(_logout_out_bytes(dovecot, imap_user.username))

    second = fetch_account(account.pk)
    assert (second.fetched, second.imported) == (0, 0)
    assert Email.objects.count() == 1000
    # The second session moved no message data: a greeting, CAPABILITY, LOGIN, STATUS, LOGOUT.
    out = _logout_out_bytes(dovecot, imap_user.username)[sessions_before:]
    assert out and out[-1] < 2000, dovecot.log()[-2000:]
    cursor = FolderCursor.objects.get(account=account, folder="INBOX")
    assert cursor.last_uid == 1000 and cursor.uidvalidity == dovecot.uidvalidity(imap_user, "INBOX")


def test_fetched_mail_is_flagged_seen_only_when_keep_unread_is_off(dovecot, make_group_account):
    reader, keeper = dovecot.add_user("read"), dovecot.add_user("keep")
    for user in (reader, keeper):
        dovecot.append(user, "INBOX", make_message())
    fetch_account(make_group_account(reader).pk)
    fetch_account(make_group_account(keeper, keep_fetched_unread=True).pk)
    assert all("\\Seen" in f for f in dovecot.flags(reader, "INBOX").values())
    assert not any("\\Seen" in f for f in dovecot.flags(keeper, "INBOX").values())


def test_same_message_in_group_and_personal_mailbox_is_one_email_visible_to_both(
    dovecot, make_group_account, make_personal_account
):
    support, own = dovecot.add_user("support"), dovecot.add_user("own")
    team = Team.objects.create(name="Support")
    agent = User.objects.create_user("agent", email="agent@example.test")
    TeamMembership.objects.create(team=team, user=agent)
    owner = User.objects.create_user("owner", email="owner@example.test")
    raw = make_message(message_id="<shared-1@customer.example.com>")
    dovecot.append(support, "INBOX", raw)
    dovecot.append(own, "INBOX", raw)
    group = make_group_account(support, teams=[team])
    personal = make_personal_account(owner, own)

    assert fetch_account(group.pk).imported == 1
    second = fetch_account(personal.pk)
    assert (second.imported, second.duplicates) == (0, 1)

    email = Email.objects.get()
    assert set(email.accounts.values_list("pk", flat=True)) == {group.pk, personal.pk}
    assert set(EmailUser.objects.filter(email=email).values_list("user__username", flat=True)) == {
        "agent",
        "owner",
    }
    assert list(email.teams.all()) == [team]
    assert Email.objects.visible_to(agent).filter(pk=email.pk).exists()
    assert Email.objects.visible_to(owner).filter(pk=email.pk).exists()


def test_addressed_users_get_the_email_and_the_sender_has_it_read(
    dovecot, imap_user, make_group_account
):
    boss = User.objects.create_user("boss", email="Boss@Example.com")
    colleague = User.objects.create_user("colleague", email="colleague@example.com")
    User.objects.create_user("gone", email="gone@example.com", is_active=False)
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(sender="boss@example.com", to="colleague@example.com, gone@example.com"),
    )
    fetch_account(make_group_account(imap_user).pk)
    rows = {row.user: row for row in EmailUser.objects.select_related("user")}
    assert set(rows) == {boss, colleague}
    assert rows[boss].is_read and not rows[colleague].is_read


def test_uidvalidity_change_loses_nothing_and_duplicates_nothing(
    dovecot, imap_user, make_group_account
):
    originals = [make_message() for _ in range(20)]
    dovecot.create_folder(imap_user, "Support")
    dovecot.append_many(imap_user, "Support", originals)
    account = make_group_account(imap_user, monitored_folders=["Support"])
    assert fetch_account(account.pk).imported == 20
    old_validity = FolderCursor.objects.get(account=account).uidvalidity

    # The server loses the folder: deleted and recreated, with the old mail and five new.
    dovecot.delete_folder(imap_user, "Support")
    dovecot.create_folder(imap_user, "Support")
    dovecot.append_many(imap_user, "Support", originals + [make_message() for _ in range(5)])
    summary = fetch_account(account.pk)

    assert (summary.imported, summary.duplicates) == (5, 20)
    assert Email.objects.count() == 25
    cursor = FolderCursor.objects.get(account=account)
    assert cursor.uidvalidity != old_validity
    assert cursor.uidvalidity == dovecot.uidvalidity(imap_user, "Support")
    assert fetch_account(account.pk).fetched == 0


def test_every_corpus_file_is_imported_or_quarantined_with_its_raw_bytes(
    dovecot, imap_user, make_group_account
):
    files = sorted(CORPUS.rglob("*.eml"))
    dovecot.append_many(imap_user, "INBOX", [f.read_bytes() for f in files])
    account = make_group_account(imap_user)
    summary = fetch_account(account.pk)

    assert summary.fetched == len(files) and not summary.errors
    assert summary.imported + summary.duplicates + summary.quarantined == len(files)
    # Byte for byte what the server holds (Dovecot itself rewrites a NUL byte or a bare CR
    # in three of the files on APPEND, so compare with what it serves, not with the files).
    stored = {r.uid: bytes(r.raw) for r in RawMessage.objects.all()}
    assert stored == dovecot.fetch(imap_user, "INBOX")
    assert not RawMessage.objects.filter(status=RawMessage.Status.PENDING).exists()
    malformed = Email.objects.filter(is_malformed=True).count()
    assert malformed >= 20  # the stalwart/malformed files are flagged, not dropped


def test_a_message_failing_in_a_step_is_quarantined_and_retry_gives_the_same_email(
    dovecot, imap_user, make_group_account, monkeypatch
):
    from mailboxes.intake import recipients

    original = recipients.recipients_batch

    def broken(batch):
        if any("poison" in ctx.parsed.subject for ctx in batch):
            raise RuntimeError("disk on fire")
        return original(batch)

    monkeypatch.setattr(recipients, "recipients_batch", broken)
    from mailboxes.intake import pipeline

    pipeline._step_functions.cache_clear()
    agent = User.objects.create_user("agent", email="agent@example.test")
    dovecot.append(imap_user, "INBOX", make_message(subject="first fine"))
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(
            subject="poison pill",
            to="agent@example.test",
            attachments=[("rapor.pdf", "application/pdf", b"%PDF-1.4 data")],
        ),
    )
    dovecot.append(imap_user, "INBOX", make_message(subject="last fine"))
    account = make_group_account(imap_user)

    summary = fetch_account(account.pk)
    assert (summary.imported, summary.quarantined) == (2, 1)
    bad = RawMessage.objects.get(status=RawMessage.Status.QUARANTINED)
    assert "disk on fire" in str(bad.error) and "RuntimeError" in bad.traceback
    assert not Email.objects.filter(subject="poison pill").exists()
    assert not Attachment.objects.exists()
    assert MailAccount.objects.get(pk=account.pk).quarantined_count == 1

    monkeypatch.setattr(recipients, "recipients_batch", original)
    pipeline._step_functions.cache_clear()
    assert raw_message_retry(bad) == "imported"
    email = Email.objects.get(subject="poison pill")
    assert email.attachments.get().filename == "rapor.pdf"
    assert EmailUser.objects.filter(email=email, user=agent).exists()
    assert list(email.accounts.all()) == [account.mailaccount_ptr]
    bad.refresh_from_db()
    assert (bad.status, bad.email, bad.attempts) == (RawMessage.Status.IMPORTED, email, 2)


def test_message_over_the_size_limit_is_stored_headers_only_with_a_note(
    dovecot, imap_user, make_group_account, settings
):
    settings.POSTACI_MAX_MESSAGE_SIZE = 20_000
    dovecot.append(imap_user, "INBOX", make_message(subject="huge", size=60_000))
    dovecot.append(imap_user, "INBOX", make_message(subject="small"))
    fetch_account(make_group_account(imap_user).pk)
    huge = Email.objects.get(subject="huge")
    assert huge.headers_only and huge.body_text == ""
    assert RawMessage.objects.get(email=huge).size < 2000
    assert not Email.objects.get(subject="small").headers_only


def test_wrong_password_is_shown_on_the_account_and_other_accounts_still_fetch(
    dovecot, make_group_account, settings
):
    settings.POSTACI_FAILURE_NOTIFY_THRESHOLD = 2
    admin = User.objects.create_superuser("root", "root@example.test", "pw")
    good_user, bad_user = dovecot.add_user("good"), dovecot.add_user("bad")
    dovecot.append(good_user, "INBOX", make_message())
    good = make_group_account(good_user)
    bad = make_group_account(bad_user, imap_password="wrong")

    from mailboxes.tasks import poll_group_accounts

    for account in (bad, good):
        fetch_account(account.pk)
    bad.refresh_from_db()
    assert bad.consecutive_failures == 1
    assert "user name or password" in str(bad.last_error)
    assert bad.next_retry_at is not None
    assert Email.objects.count() == 1
    assert MailAccount.objects.get(pk=good.pk).last_fetch_at is not None

    # Backed off: the poll does not hammer the broken account.
    from mailboxes.intake.health import accounts_due_for_fetch

    assert list(accounts_due_for_fetch("group")) == [good.mailaccount_ptr]
    assert poll_group_accounts  # the task fans out over accounts_due_for_fetch

    # One notification for the outage, not one per failed poll.
    for _ in range(3):
        fetch_account(bad.pk)
    assert Notification.objects.filter(user=admin, type=Notification.Type.MESSAGE).count() == 1
    bad.imap_password = bad_user.password
    bad.save()
    fetch_account(bad.pk)
    bad.refresh_from_db()
    assert (bad.consecutive_failures, bad.next_retry_at) == (0, None)


def test_passwords_are_encrypted_at_rest(dovecot, imap_user, make_group_account):
    account = make_group_account(imap_user, smtp_password="smtp-secret-123")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT imap_password, smtp_password FROM mailboxes_mailaccount WHERE id = %s",
            [account.pk],
        )
        stored = cursor.fetchone()
    assert imap_user.password not in stored[0] and "smtp-secret-123" not in stored[1]
    account = MailAccount.objects.get(pk=account.pk)
    assert account.imap_password == imap_user.password


def test_reset_cursor_refetches_from_a_date_without_duplicates(
    dovecot, imap_user, make_group_account
):
    import datetime

    from mailboxes.intake.cursors import account_reset_cursor

    for _ in range(3):
        dovecot.append(imap_user, "INBOX", make_message())
    account = make_group_account(imap_user)
    assert fetch_account(account.pk).imported == 3
    Email.objects.filter(pk=Email.objects.order_by("pk").first().pk).delete()

    assert account_reset_cursor(account, since=datetime.date(2000, 1, 1)) == 1
    summary = fetch_account(account.pk)
    # The deleted email comes back; the two others are recognised, not imported twice.
    assert (summary.fetched, summary.imported, summary.duplicates) == (3, 1, 2)
    assert Email.objects.count() == 3


def test_attachments_and_inline_images_are_stored_once_and_readable(
    dovecot, imap_user, make_group_account
):
    pdf = b"%PDF-1.4 fake invoice"
    for n in range(2):
        dovecot.append(
            imap_user,
            "INBOX",
            make_message(
                subject=f"invoice {n}",
                attachments=[("Fatura Şubat.pdf", "application/pdf", pdf)],
            ),
        )
    fetch_account(make_group_account(imap_user).pk)
    attachments = list(Attachment.objects.order_by("pk"))
    assert [a.filename for a in attachments] == ["Fatura Şubat.pdf"] * 2
    assert all(a.email.has_attachments for a in attachments)
    assert attachments[0].file.name == attachments[1].file.name  # same bytes, one file
    with attachments[0].file.open("rb") as handle:
        assert handle.read() == pdf


def _imap_commands(caplog) -> Callable[[], list[str]]:
    """The IMAP commands this process sent since the call, as IMAPClient logs them (it
    routes imaplib's protocol log to the ``imapclient`` loggers): nothing is wrapped, the
    server and the client stay real."""
    caplog.set_level(logging.DEBUG, logger="imapclient")
    start = len(caplog.records)
    line = re.compile(r"^> b?['\"]?\w+ (UID )?([A-Z]+)")

    def sent() -> list[str]:
        names = []
        for record in caplog.records[start:]:
            if record.name.startswith("imapclient") and (found := line.match(record.getMessage())):
                names.append(f"{found[1] or ''}{found[2]}")
        return names

    return sent


@pytest.mark.parametrize("limit", [200, 2], ids=["by-number", "searched"])
def test_an_urgent_fetch_selects_at_once_and_asks_for_new_uids_by_number(
    dovecot, imap_user, make_group_account, monkeypatch, caplog, limit
):
    import mailboxes.intake.fetch as fetch

    monkeypatch.setattr(fetch, "MAX_UIDS_WITHOUT_SEARCH", limit)
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(2)])
    account = make_group_account(imap_user)
    assert fetch_account(account.pk).imported == 2
    # three new messages, the middle one gone before the fetch: a gap between the UIDs
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(3)])
    with dovecot.client(imap_user) as client:
        client.select_folder("INBOX")
        client.delete_messages([4])
        client.expunge()
    commands = _imap_commands(caplog)

    summary = fetch_account(account.pk, urgent=True)
    sent = commands()

    assert (summary.fetched, summary.imported, summary.errors) == (2, 2, [])
    assert sorted(RawMessage.objects.values_list("uid", flat=True)) == [1, 2, 3, 5]
    assert "STATUS" not in sent
    assert ("UID SEARCH" in sent) == (limit == 2)
    assert FolderCursor.objects.get(account=account).last_uid == 5
    # a poll of the folder with nothing new is still one STATUS, no SELECT
    commands = _imap_commands(caplog)
    assert fetch_account(account.pk).fetched == 0
    sent = commands()
    assert "STATUS" in sent and "SELECT" not in sent
