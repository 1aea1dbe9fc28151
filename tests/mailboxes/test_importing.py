"""Importing .mbox archives and .eml files: ``manage.py importmail`` and the reader under it.

Real files: mboxes built here from the shared corpus (with a broken message and mboxrd
``>From`` quoting) and .eml files, through the same pipeline a fetch runs; history is
imported without notifications, auto-replies or webhook deliveries.
"""

from __future__ import annotations

import contextlib
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cases.models import AutoReplyLog, Case, CaseDistribution
from crm.models import Notification, Team, TeamMembership, User
from mailboxes.intake import importing
from mailboxes.intake.importing import archive_messages, mail_import_create, mail_import_run
from mailboxes.models import Email, EmailUser, GroupEmailAccount, MailImport, RawMessage
from mailboxes.models.outgoing import OutgoingMessage
from tests.mailboxes.importing import (
    BROKEN,
    FROM_LINES_MESSAGE,
    NO_MESSAGE_ID,
    broken_quarantined,
    corpus_messages,
    mboxrd,
    write,
)
from tests.mailboxes.linking.pipeline import import_one
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = ["email.received", "case.created", "case.assigned", "case.updated"]
BROKEN_QUARANTINED = broken_quarantined()


@pytest.fixture
def support(db):
    """A group mailbox with email-to-case (round-robin to a team of two), auto-reply on, an
    agent addressed by the mail, and a webhook endpoint for every intake event."""
    team = Team.objects.create(name="Support")
    agents = []
    for name in ("ali", "berna"):
        user = User.objects.create_user(name, email=f"{name}@postaci.example")
        TeamMembership.objects.create(team=team, user=user)
        agents.append(user)
    account = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
        auto_reply=True,
        auto_reply_subject="We got it",
        auto_reply_body="Thanks",
    )
    account.teams.set([team])
    admin = User.objects.create_superuser("root", "root@postaci.example", "pw")
    WebhookEndpoint.objects.create(
        name="All", url="https://hooks.example/in", secret="s", owner=admin, events=EVENTS
    )
    return account


def _archive_messages() -> list[bytes]:
    return [*corpus_messages(), FROM_LINES_MESSAGE, NO_MESSAGE_ID, BROKEN, FROM_LINES_MESSAGE]


def _importmail(*args) -> list[dict]:
    out = StringIO()
    with contextlib.suppress(SystemExit):  # exit status 1 when an import failed
        call_command("importmail", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _nothing_told() -> None:
    assert not Notification.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not OutgoingMessage.objects.exists()
    assert not AutoReplyLog.objects.filter(outcome=AutoReplyLog.Outcome.SENT).exists()


def test_mbox_of_the_corpus_is_imported_as_history_and_a_second_import_adds_nothing(
    support, tmp_path, settings
):
    settings.POSTACI_FETCH_BATCH_SIZE = 4  # several batches, one with the broken message
    messages = _archive_messages()
    path = write(tmp_path / "support.mbox", mboxrd(messages))

    [result] = _importmail("--account", str(support.pk), str(path))
    assert result["messages"] == len(messages)
    assert result["quarantined"] == BROKEN_QUARANTINED
    # the quoting message twice in the file: its second copy has the same bytes
    assert result["imported"] == len(messages) - 1 - BROKEN_QUARANTINED
    assert result["duplicates"] == 1
    assert result["status"] == "done"

    # Journaled byte for byte, with the mbox's ">From" quoting undone
    rows = RawMessage.objects.filter(mail_import_id=result["import"]).order_by("uid")
    assert [bytes(row.raw) for row in rows] == [
        m if m.endswith(b"\n") else m + b"\n" for m in messages[:-1]
    ]
    assert [row.uid for row in rows] == list(range(1, len(messages)))
    quoting = Email.objects.get(message_id="<quoting-test@customer.example>")
    assert "\nFrom the first of the month" in quoting.body_text
    assert "\n>From an earlier mail" in quoting.body_text
    if BROKEN_QUARANTINED:
        broken = RawMessage.objects.get(status=RawMessage.Status.QUARANTINED)
        assert bytes(broken.raw) == BROKEN and "NUL" in str(broken.error)
    assert Email.objects.get(subject="No id here").message_id_is_fingerprint
    assert Email.objects.filter(is_malformed=True).count() >= 1

    # History: filed for the team, no case opened, nobody told, no auto-reply, no webhook
    assert EmailUser.objects.filter(user__username="ali").count() == result["imported"]
    assert not Case.objects.exists()
    _nothing_told()

    counts = (Email.objects.count(), RawMessage.objects.count(), EmailUser.objects.count())
    [again] = _importmail("--account", str(support.pk), str(path))
    assert (again["messages"], again["imported"], again["quarantined"]) == (
        len(messages),
        0,
        BROKEN_QUARANTINED,
    )
    assert again["duplicates"] == len(messages) - BROKEN_QUARANTINED
    assert (Email.objects.count(), RawMessage.objects.count(), EmailUser.objects.count()) == counts
    assert path.exists()  # a file named to the command is never deleted
    _nothing_told()


def test_live_mail_of_the_same_account_does_notify(support):
    """The control of the test above: the same account notifies, auto-replies and delivers
    webhooks for new mail, so "nobody told" is the import's doing."""
    import_one(support, FROM_LINES_MESSAGE, notify=True)
    assert Notification.objects.exists()
    assert WebhookDelivery.objects.filter(event="email.received").exists()
    assert AutoReplyLog.objects.exists()


def test_import_with_cases_opens_them_quietly(support, tmp_path):
    path = write(tmp_path / "two.mbox", mboxrd(corpus_messages()[:2]))
    [result] = _importmail("--account", str(support.pk), "--cases", str(path))
    assert result["imported"] == 2
    cases = Case.objects.all()
    assert len(cases) == 2 and all(case.assigned_user_id for case in cases)
    assert all(log.outcome != AutoReplyLog.Outcome.SENT for log in AutoReplyLog.objects.all())
    _nothing_told()


def test_an_archived_message_a_filter_skipped_is_imported_anyway_as_its_import_asked(
    support, tmp_path
):
    """ "Import anyway" on a message of an import without cases files it as history: no
    case (the account opens cases for its live mail), nobody told."""
    from filters.models import EmailFilter
    from mailboxes.intake.fetch import raw_message_import_anyway

    EmailFilter.objects.create(
        name="Bulk",
        scope=EmailFilter.Scope.GLOBAL,
        action=EmailFilter.Action.SKIP,
        subject_pattern="no id*",
    )
    path = write(tmp_path / "one.mbox", mboxrd([NO_MESSAGE_ID]))
    [result] = _importmail("--account", str(support.pk), str(path))
    raw = RawMessage.objects.get(mail_import_id=result["import"])
    assert raw.status == RawMessage.Status.SKIPPED

    assert raw_message_import_anyway(raw.pk) == "imported"
    assert Email.objects.filter(subject="No id here").exists()
    assert not Case.objects.exists()
    _nothing_told()


def test_eml_files_and_a_message_without_message_id_are_imported_once(support, tmp_path):
    first = write(tmp_path / "a.eml", NO_MESSAGE_ID)
    # the same message as another server delivered it: other bytes, the same content
    second = write(
        tmp_path / "b.eml", b"Received: from mx.example by mx2.example\n" + NO_MESSAGE_ID
    )
    third = write(tmp_path / "c.eml", corpus_messages()[0])
    results = _importmail("--account", str(support.pk), str(first), str(second), str(third))
    assert [(r["messages"], r["imported"], r["duplicates"]) for r in results] == [
        (1, 1, 0),
        (1, 0, 1),
        (1, 1, 0),
    ]
    assert Email.objects.filter(subject="No id here").count() == 1
    assert Email.objects.count() == 2


def test_importmail_refuses_unknown_accounts_and_files(support, tmp_path):
    with pytest.raises(CommandError):
        call_command("importmail", "--account", "999999", str(tmp_path / "x.mbox"))
    with pytest.raises(CommandError):
        call_command("importmail", "--account", str(support.pk), str(tmp_path / "missing.mbox"))
    empty = write(tmp_path / "empty.mbox", b"")
    [result] = _importmail("--account", str(support.pk), str(empty))
    assert result["status"] == "failed" and "holds no email" in result["error"]


def test_an_interrupted_import_resumes_after_its_last_batch(
    support, tmp_path, settings, monkeypatch
):
    settings.POSTACI_FETCH_BATCH_SIZE = 3
    messages = corpus_messages()
    path = write(tmp_path / "big.mbox", mboxrd(messages))
    mail_import = mail_import_create(account=support, path=path, file_name="big.mbox")
    calls = {"n": 0}
    real = importing.hook_after_batch

    def dies_after_two_batches(run):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the worker is killed: nothing catches it
        real(run)

    monkeypatch.setattr(importing, "hook_after_batch", dies_after_two_batches)
    with pytest.raises(KeyboardInterrupt):
        mail_import_run(mail_import.pk)
    mail_import.refresh_from_db()
    assert (mail_import.status, mail_import.messages) == (MailImport.Status.RUNNING, 6)
    assert Email.objects.count() == 6

    monkeypatch.setattr(importing, "hook_after_batch", real)
    done = mail_import_run(mail_import.pk)
    assert (done.status, done.messages, done.imported, done.duplicates) == (
        MailImport.Status.DONE,
        len(messages),
        len(messages),
        0,
    )
    assert RawMessage.objects.count() == Email.objects.count() == len(messages)
    assert not path.exists()  # an upload is removed once its messages are journaled


def test_reader_streams_from_an_offset_and_keeps_only_headers_of_a_huge_message():
    huge = b"From: a@example.test\nSubject: huge\n\n" + b"x" * 5000 + b"\n"
    data = mboxrd([FROM_LINES_MESSAGE, huge, NO_MESSAGE_ID])
    messages = list(archive_messages(io.BytesIO(data), max_size=2000))
    assert [m.headers_only for m in messages] == [False, True, False]
    assert messages[1].raw == b"From: a@example.test\nSubject: huge\n\n"
    assert messages[1].size == len(huge)
    assert messages[0].raw == FROM_LINES_MESSAGE
    # resuming at the second message's start reads from there on
    rest = list(archive_messages(io.BytesIO(data), start=messages[0].end, max_size=2000))
    assert [m.raw for m in rest] == [m.raw for m in messages[1:]]
    assert rest[-1].end == len(data)
    # not an mbox: one .eml message
    [single] = archive_messages(io.BytesIO(NO_MESSAGE_ID))
    assert single.raw == NO_MESSAGE_ID and single.end == len(NO_MESSAGE_ID)
