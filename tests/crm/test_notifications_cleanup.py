"""Old read notifications are deleted by a daily scheduled task."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from crm.models import Notification, User
from crm.notifications import notifications_delete_old
from crm.tasks import cleanup_notifications


def make_notification(user: User, *, age_days: int, read: bool) -> Notification:
    notification = Notification.objects.create(user=user, type=Notification.Type.MESSAGE)
    created = timezone.now() - timedelta(days=age_days)
    # created_at is auto_now_add: set the age afterwards.
    Notification.objects.filter(pk=notification.pk).update(
        created_at=created, read_at=created + timedelta(hours=1) if read else None
    )
    return notification


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("selin", password=None)


def test_delete_old_removes_only_old_read_notifications(user):
    old_read = make_notification(user, age_days=91, read=True)
    recent_read = make_notification(user, age_days=89, read=True)
    old_unread = make_notification(user, age_days=400, read=False)

    deleted = notifications_delete_old(older_than_days=90)

    assert deleted == 1
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {recent_read.pk, old_unread.pk}
    assert old_read.pk not in remaining


def test_delete_old_refuses_negative_age(db):
    with pytest.raises(ValueError, match="negative"):
        notifications_delete_old(older_than_days=-1)


def test_cleanup_task_uses_retention_setting(user, settings):
    settings.POSTACI_NOTIFICATION_RETENTION_DAYS = 10
    make_notification(user, age_days=11, read=True)
    kept = make_notification(user, age_days=9, read=True)

    assert cleanup_notifications() == 1

    assert list(Notification.objects.values_list("pk", flat=True)) == [kept.pk]


def test_task_names_are_pinned():
    """Queued messages and scheduled jobs name tasks: moving code must not rename them."""
    assert cleanup_notifications.name == "crm.tasks.cleanup_notifications"


def test_every_periodic_job_names_a_registered_task(celery_test_app):
    celery_test_app.loader.import_default_modules()  # what a worker does at start

    jobs = [
        job for config in apps.get_app_configs() for job in getattr(config, "periodic_jobs", ())
    ]

    assert ("Clean up old notifications", "crm.tasks.cleanup_notifications", 86400) in jobs
    assert [task for _name, task, _every in jobs if task not in celery_test_app.tasks] == []


@pytest.mark.django_db
def test_migrate_installs_default_jobs_and_keeps_admin_edits():
    job = PeriodicTask.objects.get(name="Clean up old notifications")
    assert job.task == "crm.tasks.cleanup_notifications"
    assert (job.interval.every, job.interval.period) == (86400, IntervalSchedule.SECONDS)
    assert job.enabled

    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    job.interval = hourly
    job.enabled = False
    job.save()
    call_command("migrate", verbosity=0, stdout=StringIO())

    job = PeriodicTask.objects.get(name="Clean up old notifications")
    assert (job.interval_id, job.enabled) == (hourly.pk, False)
    assert PeriodicTask.objects.filter(task="crm.tasks.cleanup_notifications").count() == 1
