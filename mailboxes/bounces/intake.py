"""Pipeline step 7b: what the batch's bounces say about the addresses they name.

Runs after linking, on the new emails step 4 classified as bounces only (nothing at all for
other mail). For each failed recipient the reader finds, one ``Bounce`` row; it counts against
the address only when the message that bounced is one we sent (found by its Message-ID) and
the address was one of its recipients, so a forged bounce cannot invalidate any address. A
counted hard bounce makes the address invalid at once, soft bounces after
``POSTACI_SOFT_BOUNCE_LIMIT`` of them within ``POSTACI_SOFT_BOUNCE_DAYS``. The sender of the
bounced email is told once per email.

A few statements per batch, whatever its size. Nothing here may fail the batch: a bounce that
cannot be read or recorded is stored as any other email (the work sits in a savepoint).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from crm.addresses import addresses_get_or_create
from crm.models import EmailAddress, Notification, User
from crm.notification_reasons import wants
from mailboxes import messages
from mailboxes.bounces.reading import failures_in
from mailboxes.intake.context import IntakeContext, run_is_history
from mailboxes.intake.link import bounced_message_ids
from mailboxes.models import Bounce, Email, EmailRecipient, MailAccount
from mailboxes.notification_reasons import MAIL_BOUNCED

if TYPE_CHECKING:
    from mailboxes.bounces.read import Failure

logger = logging.getLogger(__name__)

Source = EmailAddress.InvalidSource


def bounces_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 7b: read the batch's new bounces and record what they say."""
    found = []
    for ctx in batch:
        if not ctx.is_new_email or ctx.email is None or ctx.raw is None:
            continue
        failures = failures_in(ctx.raw.raw, ctx.classification)
        if failures:
            found.append((ctx, failures))
    if not found:
        return
    try:
        with transaction.atomic():
            bounces_record(found, notify=not run_is_history(batch[0].run))
    except Exception:  # a bounce that cannot be recorded is still stored as an email
        logger.exception("Bounces of a batch could not be recorded")


def _sent_emails(found: list[tuple[IntakeContext, list[Failure]]]) -> dict[int, Email]:
    """Each bounce's email that bounced, when it is ours: sent through Postaci, or a copy of
    mail sent from one of our accounts (its Sent folder). Keyed by id of the context."""
    wanted = {id(ctx): bounced_message_ids(ctx) for ctx, _failures in found}
    ids = {message_id for ids in wanted.values() for message_id in ids}
    if not ids:
        return {}
    ours = MailAccount.objects.values("email_address")
    emails = {
        email.message_id: email
        for email in Email.objects.filter(message_id__in=ids)
        .filter(Q(status=Email.Status.SENT) | Q(from_address__address__in=ours))
        .only("pk", "message_id", "subject", "sent_by_id", "created_by_id")
    }
    sent = {}
    for key, message_ids in wanted.items():
        email = next((emails[i] for i in message_ids if i in emails), None)
        if email is not None:
            sent[key] = email
    return sent


def bounces_record(
    found: list[tuple[IntakeContext, list[Failure]]], *, notify: bool = True
) -> list[Bounce]:
    """Store the failures of the batch's bounces and apply the counted ones; the senders are
    told unless the mail is history (an imported archive, a first fetch)."""
    sent = _sent_emails(found)
    recipients: dict[int, set[str]] = defaultdict(set)
    for email_id, address in EmailRecipient.objects.filter(
        email_id__in={email.pk for email in sent.values()}
    ).values_list("email_id", "address__address"):
        recipients[email_id].add(address)
    rows = addresses_get_or_create(f.address for _ctx, failures in found for f in failures)

    bounces = []
    for ctx, failures in found:
        sent_email = sent.get(id(ctx))
        for failure in failures:
            address = rows.get(failure.address)
            if address is None:
                continue
            bounces.append(
                Bounce(
                    email=ctx.email,
                    sent_email=sent_email,
                    address=address,
                    hard=failure.hard,
                    counts=sent_email is not None and failure.address in recipients[sent_email.pk],
                    status=failure.status[:16],
                    diagnostic=failure.diagnostic,
                )
            )
    Bounce.objects.bulk_create(bounces, ignore_conflicts=True)
    counted = [bounce for bounce in bounces if bounce.counts]
    if counted:
        _invalidate(counted)
        if notify:
            _notify_senders(counted)
    return bounces


def _invalidate(counted: list[Bounce]) -> None:
    """Hard bounces invalidate at once; soft ones when the address reached the limit."""
    now = timezone.now()
    changed: dict[int, EmailAddress] = {}
    soft = {b.address_id: b for b in counted if not b.hard and not b.address.is_invalid}
    if soft:
        since = now - timedelta(days=settings.POSTACI_SOFT_BOUNCE_DAYS)
        counts = (
            Bounce.objects.filter(
                address_id__in=soft, hard=False, counts=True, created_at__gte=since
            )
            .filter(
                Q(address__marked_valid_at__isnull=True)
                | Q(created_at__gt=F("address__marked_valid_at"))
            )
            .values("address_id")
            .annotate(n=Count("id"))
        )
        for row in counts:
            if row["n"] >= settings.POSTACI_SOFT_BOUNCE_LIMIT:
                changed[row["address_id"]] = _invalid(soft[row["address_id"]], Source.SOFT_BOUNCES)
    for bounce in counted:
        if bounce.hard and not bounce.address.is_invalid:
            changed[bounce.address_id] = _invalid(bounce, Source.HARD_BOUNCE)
    for address in changed.values():
        address.invalid_at = now
    EmailAddress.objects.bulk_update(
        changed.values(),
        ["is_invalid", "invalid_source", "invalid_status", "invalid_diagnostic", "invalid_at"],
    )


def _invalid(bounce: Bounce, source: str) -> EmailAddress:
    address = bounce.address
    address.is_invalid = True
    address.invalid_source = source
    address.invalid_status = bounce.status
    address.invalid_diagnostic = bounce.diagnostic
    return address


def _notify_senders(counted: list[Bounce]) -> None:
    """Tell who sent each bounced email, once per email (a later bounce of the same email,
    another recipient failing, adds nothing to the bell)."""
    first: dict[int, Bounce] = {}
    for bounce in counted:
        first.setdefault(bounce.sent_email_id, bounce)
    email_type = ContentType.objects.get_for_model(Email)
    told = set(
        Notification.objects.filter(
            related_type=email_type, related_id__in=first, data__kind="bounce"
        ).values_list("related_id", flat=True)
    )
    senders = {
        email_id: bounce.sent_email.sent_by_id or bounce.sent_email.created_by_id
        for email_id, bounce in first.items()
        if email_id not in told
    }
    users = User.objects.filter(pk__in={pk for pk in senders.values() if pk}, is_active=True)
    preferences = dict(users.values_list("pk", "notification_preferences"))
    Notification.objects.bulk_create(
        Notification(
            user_id=user_id,
            type=Notification.Type.MESSAGE,
            reason=MAIL_BOUNCED,
            related_type=email_type,
            related_id=email_id,
            message=messages.BOUNCED_NOTIFY(
                subject=first[email_id].sent_email.subject or "-",
                address=first[email_id].address.address,
                status=first[email_id].status or "-",
            ),
            data={"kind": "bounce"},
        )
        for email_id, user_id in senders.items()
        if user_id in preferences and wants(preferences[user_id] or {}, MAIL_BOUNCED)
    )
