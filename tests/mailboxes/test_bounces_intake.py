"""Step 7b on its own: a few statements per batch whatever its size, none for other mail,
and a failure to record never fails the batch."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.addresses import addresses_get_or_create
from crm.models import EmailAddress, Notification, User
from mailboxes.bounces import intake
from mailboxes.intake.classify import classify
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import parse_message
from mailboxes.models import Bounce, Email, EmailRecipient, GroupEmailAccount, RawMessage

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def _dsn(sent: Email, address: str, status: str = "5.1.1") -> bytes:
    n = next(_ids)
    return (
        "From: MAILER-DAEMON@mx.customer.example\r\nTo: support@postaci.example\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{n}@mx.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {sent.message_id}\r\nSubject: {sent.subject}\r\n--B--\r\n"
    ).encode()


def _context(run: FetchRun, raw: bytes) -> IntakeContext:
    parsed = parse_message(raw)
    email = Email.objects.create(message_id=parsed.message_id, auto_kind=classify(parsed).kind)
    ctx = IntakeContext(run=run, folder="INBOX", raw=RawMessage(raw=raw), parsed=parsed)
    ctx.classification = classify(parsed)
    ctx.email, ctx.is_new_email = email, True
    return ctx


def _sent(agent, address: str) -> Email:
    email = Email.objects.create(
        message_id=f"<sent-{next(_ids)}@postaci.example>",
        subject="Offer",
        status=Email.Status.SENT,
        sent_by=agent,
    )
    row = addresses_get_or_create([address])[address]
    EmailRecipient.objects.create(email=email, address=row, kind=EmailRecipient.Kind.TO)
    return email


@pytest.fixture
def run(db):
    account = GroupEmailAccount.objects.create(name="Support", email_address="s@postaci.example")
    return FetchRun(account=account)


def test_the_step_costs_the_same_statements_for_any_batch_size(run):
    agent = User.objects.create_user("agent", email="agent@postaci.example")
    statements = []
    for size in (1, 2, 8):
        batch = []
        for n in range(size):
            address = f"gone-{size}-{n}@customer.example"
            status = "5.1.1" if n % 2 == 0 else "4.2.2"  # hard and soft alike
            batch.append(_context(run, _dsn(_sent(agent, address), address, status)))
        with CaptureQueriesContext(connection) as queries:
            intake.bounces_batch(batch)
        statements.append(len(queries))
        assert (
            Bounce.objects.filter(email__in=[c.email for c in batch], counts=True).count() == size
        )
    assert statements[1] == statements[2], statements
    assert statements[2] <= 12, statements
    assert EmailAddress.objects.filter(is_invalid=True).count() == 1 + 1 + 4
    assert Notification.objects.filter(user=agent, data__kind="bounce").count() == 11


def test_mail_that_is_no_bounce_costs_nothing(run):
    raw = b"From: a@customer.example\r\nTo: s@postaci.example\r\nSubject: Hi\r\n\r\nHello\r\n"
    batch = [_context(run, raw) for _ in range(1)]
    with CaptureQueriesContext(connection) as queries:
        intake.bounces_batch(batch)
    assert len(queries) == 0


def test_a_bounce_that_cannot_be_recorded_leaves_the_batch_going(run, monkeypatch):
    agent = User.objects.create_user("agent", email="agent@postaci.example")
    batch = [_context(run, _dsn(_sent(agent, "gone@customer.example"), "gone@customer.example"))]

    def broken(found):
        Bounce.objects.create(email=batch[0].email, address_id=batch[0].email.pk, hard=True)
        with connection.cursor() as cursor:  # a database error in the middle of the work
            cursor.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(intake, "bounces_record", broken)
    intake.bounces_batch(batch)  # logged, not raised; the transaction is still usable
    assert Email.objects.filter(pk=batch[0].email.pk).exists()
    assert not Bounce.objects.exists()
