"""Send later and undo send: a Scheduled email waits in the database until its time.

``email_schedule`` writes the email like a send (checked, recipients and attachments stored)
with status Scheduled and ``OutgoingMessage.scheduled_at``; nothing is built yet. Undo send is
the same thing with the time set a few seconds ahead (``POSTACI_UNDO_SEND_SECONDS``).

When the time comes, ``scheduled_release`` turns it into a Sending email (the sender's right to
use the From checked again, Message-ID, Date and the exact bytes fixed now) and delivery goes
on as for any send (delivery.py). Two things start a release, whichever comes first:

- the ``send_email`` task queued with an ETA for emails due within ``ETA_HORIZON``;
- beat's ``send_scheduled_emails`` job (``scheduled_send_due``), every few seconds, which is
  what makes a scheduled email leave after every process was restarted: the schedule lives
  in the database, not in a queue.

Exactly once: the release, ``email_unschedule`` (Undo, Cancel, Edit) and the delivery claim
all lock the Email row and act only on the status they expect, so Undo against a release, or
two workers and beat against each other, always end with one winner.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from mailboxes.messages import SEND_FROM_GONE, SEND_SCHEDULED_FAILED
from mailboxes.models import Email, OutgoingMessage
from mailboxes.sending.drafts import (
    ComposeData,
    compose_data_of,
    compose_for_sending,
)
from mailboxes.sending.exceptions import FromNotAllowed, NotSendable, SendError
from mailboxes.sending.permissions import sending_identity_for

logger = logging.getLogger(__name__)

# Emails due sooner than this also get a task with an ETA (on time to the second); later ones
# are left to beat alone (a long ETA would sit in the broker for hours).
ETA_HORIZON = timedelta(minutes=5)
DUE_BATCH = 500


def undo_send_seconds() -> int:
    """How long a person's Send can be undone (0: sends at once)."""
    return max(0, int(settings.POSTACI_UNDO_SEND_SECONDS))


def email_schedule(
    *,
    user: User,
    data: ComposeData,
    send_at: datetime,
    draft: Email | None = None,
    undo_window: bool = False,
) -> Email:
    """Store an email to leave at ``send_at`` (status Scheduled). Raises what ``email_send``
    raises; ``undo_window``: the few seconds after Send, not a time the person chose."""
    with transaction.atomic():
        email, identity = compose_for_sending(user, data, draft, status=Email.Status.SCHEDULED)
        if identity is None:
            return email
        size = sum(a.size or 0 for a in email.attachments.all())
        if size > settings.POSTACI_MAX_MESSAGE_SIZE:
            raise SendError(_("The attachments are too large to send."), field="attachments")
        OutgoingMessage.objects.filter(pk=email.pk).update(
            scheduled_at=send_at,
            undo_window=undo_window,
            requested_by=user,
            due_at=send_at,
            attempts=0,
            claimed_at=None,
            claim_token="",
        )
        _queue_release(email.pk, send_at)
    email.refresh_from_db()  # the outgoing row cached on it predates the update
    return email


def _queue_release(email_id: int, send_at: datetime) -> None:
    if send_at - timezone.now() > ETA_HORIZON:
        return

    def enqueue() -> None:
        from mailboxes.tasks import send_email

        send_email.apply_async((email_id,), eta=send_at)

    transaction.on_commit(enqueue, robust=True)


def scheduled_release(
    email: Email, now: datetime | None = None, *, identities: dict | None = None
) -> bool:
    """Turn a due Scheduled ``email`` (its row locked by the caller) into Sending.

    Return True when it is now Sending; False when it is not due yet or could not be built
    (then it is Failed with the reason). ``identities``: a cache of the senders' allowed
    identities for one batch (working them out is a third of a release's queries).
    """
    from mailboxes.sending.delivery import mark_failed
    from mailboxes.sending.send import prepare_send

    now = now or timezone.now()
    outgoing = OutgoingMessage.objects.get(pk=email.pk)
    if email.status != Email.Status.SCHEDULED:
        return False
    if outgoing.scheduled_at is None or outgoing.scheduled_at > now:
        return False
    user = outgoing.requested_by
    try:
        if user is None or not user.is_active:
            raise FromNotAllowed()
        key = (user.pk, email.send_account_id)
        identity = (identities or {}).get(key) or sending_identity_for(user, email.send_account_id)
        if identities is not None:
            identities[key] = identity
        email.status = Email.Status.SENDING
        email.save(update_fields=["status", "modified_at"])
        prepare_send(email, compose_data_of(email), user=user, identity=identity)
    except FromNotAllowed:
        mark_failed(email, SEND_FROM_GONE())
        return False
    except SendError as error:
        mark_failed(email, SEND_SCHEDULED_FAILED(error=str(error)))
        return False
    OutgoingMessage.objects.filter(pk=email.pk).update(due_at=now, undo_window=False)
    return True


def scheduled_wait(email: Email, now: datetime) -> float | None:
    """Seconds until a Scheduled email is due when that is soon (a task with an ETA that
    arrived early tries again then); None when it is not scheduled or beat will see to it."""
    if email.status != Email.Status.SCHEDULED:
        return None
    due = scheduled_time(email)
    if due is None or due <= now or due - now > ETA_HORIZON:
        return None
    return max((due - now).total_seconds(), 0.05)


def scheduled_send_due(now: datetime | None = None) -> int:
    """Beat's job: release every Scheduled email whose time has come and queue its delivery;
    rows another process is releasing right now are skipped. Return how many were released."""
    from mailboxes.sending.delivery import queue_delivery

    now = now or timezone.now()
    due = list(
        Email.objects.filter(
            status=Email.Status.SCHEDULED, outgoing__scheduled_at__lte=now
        ).values_list("pk", flat=True)[:DUE_BATCH]
    )
    released = 0
    identities: dict = {}
    for pk in due:
        with transaction.atomic():
            email = (
                Email.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Email.Status.SCHEDULED)
                .first()
            )
            if email is not None and scheduled_release(email, now, identities=identities):
                queue_delivery(email)
                released += 1
    if released:
        logger.info("Released %s scheduled email(s)", released)
    return released


def email_unschedule(*, user: User, email: Email, keep_schedule: bool = False) -> Email:
    """Take a Scheduled email back into the author's drafts (Undo, Cancel, Edit) unless it
    has left already (``NotSendable``). ``keep_schedule``: the draft remembers its time, so
    the compose page offers it again."""
    with transaction.atomic():
        locked = Email.objects.select_for_update().filter(pk=email.pk).first()
        if locked is None or locked.created_by_id != user.pk:
            raise NotSendable(_("Only the author can change a draft."))
        if locked.status != Email.Status.SCHEDULED:
            raise NotSendable(_("Too late: this email has already been sent."))
        outgoing = OutgoingMessage.objects.get(pk=locked.pk)
        keep = keep_schedule and not outgoing.undo_window
        OutgoingMessage.objects.filter(pk=locked.pk).update(
            scheduled_at=outgoing.scheduled_at if keep else None,
            undo_window=False,
            due_at=None,
        )
        locked.status = Email.Status.DRAFT
        locked.save(update_fields=["status", "modified_at"])
    return locked


def scheduled_time(email: Email) -> datetime | None:
    """When a Scheduled email leaves (or the time a draft was scheduled for before Edit)."""
    return (
        OutgoingMessage.objects.filter(pk=email.pk).values_list("scheduled_at", flat=True).first()
    )
