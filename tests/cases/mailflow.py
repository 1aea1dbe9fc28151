"""Mail moving for the cases integration tests: real SMTP in, real IMAP fetch, real sending."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email
from mailboxes.sending.delivery import email_deliver


def smtp_send(relay, raw: bytes, *, mail_from: str, to: list[str]) -> None:
    """Hand a message to the relay as another mail server (or a mail client) would."""
    with smtplib.SMTP(relay.host, relay.port, timeout=10) as client:
        client.sendmail(mail_from, to, raw)


def fetch(account) -> dict:
    """One fetch of ``account`` as a poll does (not the first one: mail is new, not history)."""
    summary = fetch_account(account.pk, notify=True)
    assert not summary.errors, summary.errors
    return summary.as_dict()


def send_pending() -> int:
    """What the Celery worker does with the queued ``send_email`` tasks: one attempt each."""
    ids = list(Email.objects.filter(status=Email.Status.SENDING).values_list("pk", flat=True))
    for pk in ids:
        email_deliver(pk)
    return len(ids)


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]
