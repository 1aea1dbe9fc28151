"""In-app notifications: creating them, counting and marking them read.

Mail intake and cases create notifications through these functions too, so the bell, the
notifications page and the digest see one consistent reason of row. A notification of a
``reason`` (``crm.notification_reasons``) is created only for users who keep that reason on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from crm.links import url_of
from crm.models import Note, Notification, User
from crm.notification_reasons import MENTION, RECORD_ACTIVITY, preferences_of, wants


def notification_create(
    *,
    user: User,
    type: str,
    related=None,
    note: Note | None = None,
    message: str = "",
    data: dict | None = None,
    reason: str = "",
) -> Notification | None:
    """One notification for one user; ``related`` is what a click on it opens.

    None when the user turned ``reason`` off.
    """
    if reason and not wants(user.notification_preferences or {}, reason):
        return None
    return Notification.objects.create(
        user=user,
        type=type,
        reason=reason,
        note=note,
        related_type=ContentType.objects.get_for_model(related) if related is not None else None,
        related_id=related.pk if related is not None else None,
        message=message,
        data=data or {},
    )


def notifications_for_note(
    note: Note, follower_ids: Iterable[int], *, mentioned_ids: Iterable[int] = ()
) -> list[Notification]:
    """Tell these users about a new stream note (one bulk insert; the author is left out).

    Mentioned users are told as ``MENTION``, followers as ``RECORD_ACTIVITY``: each user once,
    for the first of those reasons they keep on.
    """
    reasons = ((set(mentioned_ids), MENTION), (set(follower_ids), RECORD_ACTIVITY))
    preferences = preferences_of(set().union(*(ids for ids, _reason in reasons)) - {note.author_id})
    told: dict[int, str] = {}
    for user_ids, reason in reasons:
        for user_id in user_ids & (preferences.keys() - told.keys()):
            if wants(preferences[user_id] or {}, reason):
                told[user_id] = reason
    return Notification.objects.bulk_create(
        [
            Notification(
                user_id=user_id,
                type=Notification.Type.NOTE,
                reason=told[user_id],
                note=note,
                related_type_id=note.parent_type_id,
                related_id=note.parent_id,
            )
            for user_id in sorted(told)
        ]
    )


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for_user(user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first, with what the page renders prefetched."""
    return (
        Notification.objects.filter(user=user)
        .select_related("note__author", "note__parent_type", "related_type")
        .prefetch_related("related", "note__parent")
    )


def _note_url(record_url: str, note: Note) -> str:
    return f"{record_url}?note={note.pk}#note-{note.pk}" if record_url else ""


def notification_target_url(notification: Notification) -> str:
    """Where opening a notification leads ("" when nowhere).

    A stream update opens the record's stream at the note (``?note=<id>`` picks the stream
    page that holds it, ``#note-<id>`` scrolls to it); an email
    received opens the email's own page when there is one, else its entry in the stream of the
    record it belongs to; anything else opens what it is about.
    """
    note = notification.note
    related = notification.related
    if notification.type == Notification.Type.NOTE and note is not None:
        return _note_url(url_of(related) or url_of(note.parent), note)
    if notification.type == Notification.Type.EMAIL_RECEIVED:
        email_url = url_of(related)
        if email_url:
            return email_url
        return _note_url(url_of(note.parent), note) if note is not None else ""
    return url_of(related)


def notifications_mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given); returns how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def notifications_delete_old(*, older_than_days: int) -> int:
    """Delete read notifications created more than *older_than_days* ago; return how many.

    Unread notifications are kept whatever their age: nobody has seen them yet.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    _total, per_model = Notification.objects.filter(
        read_at__isnull=False, created_at__lt=cutoff
    ).delete()
    return per_model.get(Notification._meta.label, 0)
