"""Delivery (the ``send_email`` task's work) and recovery of stuck sends.

Flow: ``email_send`` checks everything (From allowed, addresses, no line breaks in headers,
parent and replied email visible), writes the Email (status Sending) with its recipients and
attachments, builds the exact bytes once (``OutgoingMessage.raw``) and queues the
``send_email`` task after the commit. The task runs ``email_deliver``. A Scheduled email (send
later, undo send: scheduling.py) becomes Sending in ``email_deliver`` or beat's job once due,
under the same row lock, and goes on from step 1.

Guarantee — at most once per email (and so per Message-ID):

1. An attempt first *claims* the message in its own committed transaction (row lock on the
   Email, ``claimed_at``/``claim_token`` set). Only the holder of a claim talks to SMTP.
2. The outcome is then recorded and the claim released: accepted → Sent; refused for good
   (5xx) → Failed with the server's words; temporary (4xx, connection problems before the
   mail transaction) → still Sending, retried with exponential back-off up to
   ``POSTACI_SEND_MAX_ATTEMPTS`` and then Failed.
3. A claim that never recorded its outcome — the worker died, or the connection broke in the
   middle of the mail transaction, i.e. the server may have accepted the message — is never
   retried automatically. Once older than ``POSTACI_SEND_CLAIM_LEASE`` the email becomes
   Failed, saying it may have been delivered; only a person's Retry sends it again.
4. Running the task again for an email that is Sent, Failed or claimed does nothing, so a
   redelivered or duplicated task cannot send twice.

The remaining window is between the server's "250 accepted" and the commit of step 2: a crash
there leaves the email Failed-and-uncertain rather than sent twice.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.events import event_publish
from crm.messages import Message
from crm.stream import record_follow
from mailboxes.linking.message_ids import note_email_sent
from mailboxes.messages import (
    SEND_ACCOUNT_GONE,
    SEND_INTERRUPTED,
    SEND_RETRYING,
    SENT_PARTLY_REFUSED,
    refused_list,
)
from mailboxes.models import (
    Email,
    EmailUser,
    OutgoingMessage,
)
from mailboxes.sending.exceptions import DeliveryError
from mailboxes.sending.send_actions import send_actions_apply
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver

logger = logging.getLogger(__name__)


def queue_delivery(email: Email, countdown: float = 0) -> None:
    """Queue the send task once the transaction commits (robust: a broker outage leaves the
    email Sending and unclaimed, and ``sending_recover`` queues it again)."""
    from mailboxes.tasks import send_email

    due = timezone.now() + timedelta(seconds=countdown)
    OutgoingMessage.objects.filter(pk=email.pk).update(due_at=due)
    email_id = email.pk

    def enqueue() -> None:
        if countdown:
            send_email.apply_async((email_id,), countdown=countdown)
        else:
            send_email.delay(email_id)

    transaction.on_commit(enqueue, robust=True)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one run of ``email_deliver`` did; ``retry_in``: run again after this many s."""

    status: str  # sent, failed, retry, busy, skipped
    retry_in: float | None = None


def _backoff(attempt: int) -> float:
    delay = settings.POSTACI_SEND_RETRY_DELAY * (2 ** max(0, attempt - 1))
    return min(delay, settings.POSTACI_SEND_RETRY_MAX_DELAY)


def email_deliver(email_id: int) -> DeliveryOutcome:
    """Make one delivery attempt for a Sending email; safe to run any number of times."""
    now = timezone.now()
    token = secrets.token_hex(16)
    lease = timedelta(seconds=settings.POSTACI_SEND_CLAIM_LEASE)
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(pk=email_id).first()
        if email is not None and email.status == Email.Status.SCHEDULED:
            from mailboxes.sending.scheduling import scheduled_release, scheduled_wait

            # when due (Undo holds the same lock); a task a moment early waits for the time
            if not scheduled_release(email, now):
                wait = scheduled_wait(email, now)
                return (
                    DeliveryOutcome("busy", retry_in=wait) if wait else DeliveryOutcome("skipped")
                )
        if email is None or email.status != Email.Status.SENDING:
            return DeliveryOutcome("skipped")
        outgoing = OutgoingMessage.objects.get(pk=email.pk)
        if outgoing.claimed_at is not None:
            if now - outgoing.claimed_at < lease:
                remaining = (outgoing.claimed_at + lease - now).total_seconds()
                return DeliveryOutcome("busy", retry_in=max(remaining, 1.0))
            _mark_uncertain(email, outgoing)
            return DeliveryOutcome("failed")
        account = email.send_account.specific if email.send_account_id else None
        if account is None or not outgoing.raw:
            _mark_failed(email, outgoing, SEND_ACCOUNT_GONE())
            return DeliveryOutcome("failed")
        outgoing.claimed_at, outgoing.claim_token = now, token
        outgoing.attempts += 1
        outgoing.save(update_fields=["claimed_at", "claim_token", "attempts"])
        email.send_attempts += 1
        email.save(update_fields=["send_attempts", "modified_at"])
        smtp = SmtpSettings.of(account)
        raw = bytes(outgoing.raw)
        envelope_from, envelope_to = outgoing.envelope_from, list(outgoing.envelope_to)

    try:
        refused = smtp_deliver(smtp, raw, envelope_from=envelope_from, envelope_to=envelope_to)
    except DeliveryError as error:
        return _record_failure(email_id, token, error)
    _record_accepted(email_id, refused)
    return DeliveryOutcome("sent")


def _record_failure(email_id: int, token: str, error: DeliveryError) -> DeliveryOutcome:
    with transaction.atomic():
        email = Email.objects.select_for_update().get(pk=email_id)
        outgoing = OutgoingMessage.objects.get(pk=email_id)
        if email.status != Email.Status.SENDING or outgoing.claim_token != token:
            return DeliveryOutcome("skipped")  # settled meanwhile (lease expired, say)
        outgoing.claimed_at, outgoing.claim_token = None, ""
        if error.uncertain:
            outgoing.uncertain = True
            outgoing.save(update_fields=["claimed_at", "claim_token", "uncertain"])
            _mark_failed(email, outgoing, error.message)
            return DeliveryOutcome("failed")
        outgoing.save(update_fields=["claimed_at", "claim_token"])
        if error.transient and outgoing.attempts < settings.POSTACI_SEND_MAX_ATTEMPTS:
            delay = _backoff(outgoing.attempts)
            email.send_error = SEND_RETRYING(attempt=outgoing.attempts, error=error.message)
            email.save(update_fields=["send_error", "modified_at"])
            OutgoingMessage.objects.filter(pk=email_id).update(
                due_at=timezone.now() + timedelta(seconds=delay)
            )
            return DeliveryOutcome("retry", retry_in=delay)
        _mark_failed(email, outgoing, error.message)
        return DeliveryOutcome("failed")


def _record_accepted(email_id: int, refused: dict) -> None:
    """The server took the message: Sent, whatever a lease sweep decided meanwhile."""
    with transaction.atomic():
        email = Email.objects.select_for_update().get(pk=email_id)
        outgoing = OutgoingMessage.objects.get(pk=email_id)
        outgoing.accepted_at = timezone.now()
        outgoing.claimed_at, outgoing.claim_token, outgoing.uncertain = None, "", False
        outgoing.refused = {a: list(r) for a, r in refused.items()}
        outgoing.save(
            update_fields=["accepted_at", "claimed_at", "claim_token", "uncertain", "refused"]
        )
        email.status = Email.Status.SENT
        email.sent_by_id = outgoing.requested_by_id or email.created_by_id
        email.send_error = SENT_PARTLY_REFUSED(list=refused_list(refused)) if refused else Message()
        email.save(update_fields=["status", "sent_by", "send_error", "modified_at"])
        event_publish("email.sent", [email])
        try:
            with transaction.atomic():
                email_after_sent(email)
        except Exception:  # the email is sent; a bookkeeping bug must not hide that
            logger.exception("After-send bookkeeping failed for email %s", email_id)
        if email.send_account_id and email.send_account.store_sent_emails:
            from mailboxes.tasks import store_sent_email

            transaction.on_commit(lambda: store_sent_email.delay(email_id), robust=True)


def email_after_sent(email: Email) -> None:
    """The sender sees it in their Sent mail, follows the parent, the actions chosen beside
    Send run, and the parent's stream says "email sent" (and what they did). Idempotent."""
    sender = email.sent_by
    if sender is not None:
        EmailUser.objects.update_or_create(email=email, user=sender, defaults={"is_read": True})
        if email.parent is not None:
            record_follow(email.parent, sender)
    # what the sender chose beside Send (set a case's status, say): one stream entry with it
    done, told = send_actions_apply(email)
    note_email_sent(email, extra=done, told=told)


def mark_failed(email: Email, error: Message) -> None:
    """Failed with ``error`` (the caller holds the Email's row lock)."""
    _mark_failed(email, None, error)


def _mark_failed(email: Email, outgoing: OutgoingMessage | None, error: Message) -> None:
    email.status = Email.Status.FAILED
    email.send_error = error
    email.save(update_fields=["status", "send_error", "modified_at"])
    OutgoingMessage.objects.filter(pk=email.pk).update(due_at=None)
    event_publish("email.failed", [email])


def _mark_uncertain(email: Email, outgoing: OutgoingMessage) -> None:
    outgoing.claimed_at, outgoing.claim_token, outgoing.uncertain = None, "", True
    outgoing.save(update_fields=["claimed_at", "claim_token", "uncertain"])
    _mark_failed(email, outgoing, SEND_INTERRUPTED())


def sending_recover(*, grace: float = 300.0) -> dict[str, int]:
    """Periodic safety net: fail claims older than the lease (never resend them), and queue
    again Sending emails whose task is overdue (lost with a broker outage)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.POSTACI_SEND_CLAIM_LEASE)
    stale = list(
        OutgoingMessage.objects.filter(
            email__status=Email.Status.SENDING, claimed_at__lt=now - lease
        ).values_list("pk", flat=True)
    )
    for pk in stale:
        with transaction.atomic():
            email = Email.objects.select_for_update().get(pk=pk)
            outgoing = OutgoingMessage.objects.get(pk=pk)
            if email.status == Email.Status.SENDING and outgoing.claimed_at is not None:
                _mark_uncertain(email, outgoing)
    overdue = list(
        Email.objects.filter(
            status=Email.Status.SENDING,
            outgoing__claimed_at__isnull=True,
            outgoing__due_at__lt=now - timedelta(seconds=grace),
        ).values_list("pk", flat=True)
    )
    for pk in overdue:
        with transaction.atomic():
            queue_delivery(Email(pk=pk))
    return {"failed": len(stale), "queued": len(overdue)}
