"""Email digests of unread notifications, for users who asked for one (hourly or daily).

Sent through the system SMTP server (Django's ``EMAIL_*`` settings) by a periodic job. A digest
never repeats mail the user already got directly: notifications about an email the user has a
copy of, or whose To/Cc holds one of their addresses, are left out (the email is in their
inbox already), and so are notifications of a kind the user wants in the app only (their
notification preferences, ``crm.notification_reasons``). Each notification goes into at most one
digest (``emailed_at``); one the user read in the app before the job ran is not sent at all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from crm.deliverability import deliverable_for_automatic_mail
from crm.models import EmailAddressLink, Notification, User
from crm.notification_reasons import Level, level_of
from mailboxes.linking.message_ids import message_id_new
from mailboxes.models import Email, EmailRecipient, EmailUser

logger = logging.getLogger(__name__)

DIGEST_MAX_ITEMS = 50


def _email_id(notification: Notification, email_type_id: int) -> int | None:
    if notification.related_type_id == email_type_id:
        return notification.related_id
    note = notification.note
    if note is not None and note.related_type_id == email_type_id:
        return note.related_id
    return (notification.data or {}).get("email_id")


def _received_directly(pairs: set[tuple[int, int]], user_ids: set[int]) -> set[tuple[int, int]]:
    """The (email, user) pairs where the user has the email already: a copy, or in To/Cc."""
    if not pairs:
        return set()
    email_ids = {email_id for email_id, _user in pairs}
    direct = set(
        EmailUser.objects.filter(email_id__in=email_ids, user_id__in=user_ids).values_list(
            "email_id", "user_id"
        )
    )
    addresses: dict[str, set[int]] = defaultdict(set)
    for user_id, address in User.objects.filter(pk__in=user_ids).values_list("pk", "email"):
        if address:
            addresses[address.strip().lower()].add(user_id)
    for address, user_id in EmailAddressLink.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id__in=user_ids
    ).values_list("address__address", "object_id"):
        addresses[address].add(user_id)
    for email_id, address in EmailRecipient.objects.filter(
        email_id__in=email_ids,
        kind__in=[EmailRecipient.Kind.TO, EmailRecipient.Kind.CC],
        address__address__in=list(addresses),
    ).values_list("email_id", "address__address"):
        direct |= {(email_id, user_id) for user_id in addresses[address]}
    return direct & pairs


def _absolute(path: str) -> str:
    return settings.POSTACI_SITE_URL.rstrip("/") + path


def digest_message(user: User, notifications: list[Notification]) -> EmailMessage:
    """The digest email for one user, in their language."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        shown = notifications[:DIGEST_MAX_ITEMS]
        for notification in shown:
            notification.open_url = _absolute(
                reverse("crm:notification-open", args=[notification.pk])
            )
        count = len(notifications)
        subject = ngettext(
            "Postaci: %(count)d unread notification",
            "Postaci: %(count)d unread notifications",
            count,
        ) % {"count": count}
        body = render_to_string(
            "mailboxes/digest_email.txt",
            {
                "user": user,
                "notifications": shown,
                "more": count - len(shown),
                "notifications_url": _absolute(reverse("crm:notifications")),
                "preferences_url": _absolute(reverse("crm:preferences")),
            },
        )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "Message-ID": message_id_new(),
            # RFC 3834: no auto-replies to this; X-Postaci-Loop: our own mail if it comes back
            "Auto-Submitted": "auto-generated",
            "X-Postaci-Loop": "digest",
        },
    )


def notification_digests_send(*, frequency: str, now: datetime | None = None) -> int:
    """Send the due digests of users who chose ``frequency``; returns how many were sent.

    Every notification considered is stamped ``emailed_at``, sent or left out, so the next run
    starts where this one ended. A user whose digest fails to send keeps theirs for next time.
    """
    now = now or timezone.now()
    email_type_id = ContentType.objects.get_for_model(Email).pk
    pending = list(
        Notification.objects.filter(
            user__is_active=True,
            user__notification_digest=frequency,
            read_at__isnull=True,
            emailed_at__isnull=True,
        )
        .exclude(user__email="")
        .select_related("user", "note__author", "note__parent_type", "related_type")
        .prefetch_related("related", "note__parent")
        .order_by("user_id", "-created_at", "-id")
    )
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for notification in pending:
        by_user[notification.user_id].append(notification)
    pairs = {
        (email_id, n.user_id)
        for n in pending
        if (email_id := _email_id(n, email_type_id)) is not None
    }
    direct = _received_directly(pairs, set(by_user))
    # automatic mail: never to an address that bounced (the bell still shows them)
    deliverable = deliverable_for_automatic_mail(n.user.email for n in pending)

    sent, done = 0, []
    with get_connection() as connection:
        for user_id, notifications in by_user.items():
            if notifications[0].user.email.strip().lower() not in deliverable:
                done += [n.pk for n in notifications]
                continue
            preferences = notifications[0].user.notification_preferences or {}
            # "email received" means the user has a copy of the email: never in a digest
            wanted = [
                n
                for n in notifications
                if n.type != Notification.Type.EMAIL_RECEIVED
                and (_email_id(n, email_type_id), user_id) not in direct
                and level_of(preferences, n.reason) == Level.EMAIL
            ]
            if wanted:
                try:
                    connection.send_messages([digest_message(notifications[0].user, wanted)])
                except Exception:  # one bad address or a server hiccup must not stop the rest
                    logger.exception("Notification digest to user %s failed", user_id)
                    continue
                sent += 1
            done += [n.pk for n in notifications]
    Notification.objects.filter(pk__in=done).update(emailed_at=now)
    return sent
