"""The celery_worker fixture runs real tasks through Redis, isolated from other test runs."""

import json
import threading
from datetime import timedelta

import pytest
import redis
from celery import Celery, signals
from django.conf import settings
from django.utils import timezone

from crm.models import Notification, User
from crm.tasks import cleanup_notifications
from tests.servers import celery_worker as celery_testing


def old_read_notification(user: User) -> Notification:
    notification = Notification.objects.create(user=user, type=Notification.Type.MESSAGE)
    long_ago = timezone.now() - timedelta(days=365)
    Notification.objects.filter(pk=notification.pk).update(created_at=long_ago, read_at=long_ago)
    return notification


@pytest.fixture
def queue_key(celery_test_app: Celery) -> str:
    """The Redis list holding this session's default queue."""
    prefix = celery_test_app.conf.broker_transport_options["global_keyprefix"]
    return f"{prefix}{celery_test_app.conf.task_default_queue}"


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(celery_testing.redis_url())
    yield client
    client.close()


@pytest.fixture
def other_run() -> Celery:
    """crm's task names, as another checkout's test run would send them to the same Redis."""
    app = Celery("other-run", set_as_current=False)
    prefix = celery_testing.new_key_prefix("other-run")
    celery_testing.configure_for_tests(app, url=celery_testing.redis_url(), key_prefix=prefix)
    yield app
    app.close()
    celery_testing.delete_keys(celery_testing.redis_url(), prefix)


def test_task_sent_through_redis_runs_in_the_worker_and_changes_the_database(celery_worker):
    user = User.objects.create_user("deniz", password=None)
    old_read_notification(user)
    ran_in = []

    def remember_thread(sender=None, **kwargs):
        ran_in.append(threading.current_thread())

    signals.task_prerun.connect(remember_thread, weak=False)
    try:
        deleted = cleanup_notifications.delay().get(timeout=10)
    finally:
        signals.task_prerun.disconnect(remember_thread)

    assert deleted == 1
    assert not Notification.objects.exists()
    assert ran_in and threading.current_thread() not in ran_in  # not eager: the worker ran it
    assert settings.CELERY_TASK_ALWAYS_EAGER is False


def test_messages_of_this_run_live_under_its_own_key_prefix(
    celery_test_app, queue_key, redis_client
):
    result = cleanup_notifications.delay()
    try:
        queued = [json.loads(raw) for raw in redis_client.lrange(queue_key, 0, -1)]
    finally:
        celery_test_app.control.purge()

    assert [message["headers"]["id"] for message in queued] == [result.id]
    assert queue_key.startswith("postaci-test:")


def test_worker_leaves_tasks_of_another_run_alone(celery_worker, other_run, redis_client):
    user = User.objects.create_user("ece", password=None)
    other_prefix = other_run.conf.broker_transport_options["global_keyprefix"]
    for _ in range(3):
        other_run.send_task("crm.tasks.cleanup_notifications")
    old_read_notification(user)

    # Sent after the other run's tasks, same task name, same queue name: only ours runs.
    assert cleanup_notifications.delay().get(timeout=10) == 1
    assert cleanup_notifications.delay().get(timeout=10) == 0

    assert redis_client.llen(f"{other_prefix}celery") == 3
