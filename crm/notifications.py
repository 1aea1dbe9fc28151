"""Services for in-app notifications."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import Notification


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
