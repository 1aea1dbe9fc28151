"""Celery tasks of the core app: thin wrappers around services.

Task names are explicit and pinned by tests: queued messages and scheduled jobs refer to
tasks by name, so moving a function must not rename its task.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(name="crm.tasks.cleanup_notifications")
def cleanup_notifications() -> int:
    """Delete read notifications older than ``POSTACI_NOTIFICATION_RETENTION_DAYS``."""
    from .notifications import notifications_delete_old

    return notifications_delete_old(older_than_days=settings.POSTACI_NOTIFICATION_RETENTION_DAYS)
