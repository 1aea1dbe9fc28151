""" "Store sent emails": APPEND the exact bytes that were sent to the account's Sent folder.

The copy carries the sent Email's Message-ID, and that Email exists (status Sent) before
the copy does, so when a fetch of the Sent folder brings the copy back the intake finds the
Message-ID and counts it as a duplicate instead of importing it again. The APPEND itself is
idempotent: a copy already in the folder (a retry after a lost answer) is not added twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import imapclient
from django.conf import settings
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from crm.messages import Message
from mailboxes.connection.imap import connection_error, imap_session
from mailboxes.exceptions import MailError
from mailboxes.models import Email, OutgoingMessage

logger = logging.getLogger(__name__)
SEEN = rb"\Seen"


@dataclass(frozen=True)
class StoreOutcome:
    status: str  # stored, present, skipped, failed, retry
    retry_in: float | None = None


def sent_folder_of(client: imapclient.IMAPClient, configured: str) -> str:
    """The account's Sent folder: as configured, else the server's \\Sent special-use
    folder, else "Sent"."""
    if configured:
        return configured
    try:
        return client.find_special_folder(imapclient.SENT) or "Sent"
    except IMAPClientError:
        return "Sent"


def email_store_sent_copy(email_id: int, *, attempt: int = 1) -> StoreOutcome:
    """Append the sent bytes of ``email_id`` to its account's Sent folder, flagged \\Seen."""
    email = Email.objects.select_related("send_account").filter(pk=email_id).first()
    if email is None or email.status != Email.Status.SENT or email.send_account_id is None:
        return StoreOutcome("skipped")
    outgoing = OutgoingMessage.objects.get(pk=email_id)
    account = email.send_account.specific
    if not account.store_sent_emails or not outgoing.raw or outgoing.sent_copy_at is not None:
        return StoreOutcome("skipped")
    raw = bytes(outgoing.raw)
    try:
        with imap_session(account) as client:
            folder = sent_folder_of(client, account.sent_folder)
            client.select_folder(folder, readonly=True)
            if client.search(["HEADER", "Message-ID", email.message_id]):
                status = "present"
            else:
                when = email.date_sent or timezone.now()
                client.append(folder, raw, flags=(SEEN,), msg_time=when)
                status = "stored"
    except (MailError, OSError, IMAPClientError) as exc:
        error = exc if isinstance(exc, MailError) else connection_error(exc, account.imap_host)
        logger.warning("Storing the sent copy of email %s failed: %s", email_id, error)
        OutgoingMessage.objects.filter(pk=email_id).update(sent_copy_error=error.message)
        if attempt < settings.POSTACI_SEND_MAX_ATTEMPTS and error.code not in ("auth", "tls"):
            return StoreOutcome("retry", retry_in=settings.POSTACI_SEND_RETRY_DELAY * attempt)
        return StoreOutcome("failed")
    OutgoingMessage.objects.filter(pk=email_id).update(
        sent_copy_at=timezone.now(), sent_copy_error=Message()
    )
    return StoreOutcome(status)
