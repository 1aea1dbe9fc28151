"""/healthz and /readyz, against a real database, Redis broker and Celery worker."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mailboxes.models import MailAccount
from ops import readiness
from ops.models import Heartbeat
from tests.servers import celery_worker as celery_testing
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _ready(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, json.loads(response.content)


def _point(app, url: str, prefix: str) -> None:
    celery_testing.configure_for_tests(app, url=url, key_prefix=prefix)
    # the producer pool and the control's mailbox keep the broker they were made with
    for cached in ("amqp", "control"):
        app.__dict__.pop(cached, None)
    readiness._ping_cache.clear()


@contextmanager
def broker_at(app, url: str):
    """Point the Celery app (the product's) at another broker for the block."""
    previous = app.conf.broker_url, app.conf.broker_transport_options["global_keyprefix"]
    _point(app, url, celery_testing.new_key_prefix("ready"))
    try:
        yield
    finally:
        _point(app, *previous)


def test_healthz_answers_without_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_readyz_follows_the_broker_going_away_and_coming_back(private_redis, celery_test_app):
    from ops.tasks import heartbeat

    client = Client()
    with broker_at(celery_test_app, private_redis.url):
        status, body = _ready(client)
        assert status == 503  # no worker yet, beat never ran
        assert body["checks"]["beat"]["ok"] is False
        with celery_testing.running_worker(celery_test_app):
            heartbeat.delay()  # what beat sends every 30 s, run by the worker
            assert wait_until(Heartbeat.objects.filter(name="beat").exists)
            readiness._ping_cache.clear()
            status, body = _ready(client)
            assert status == 200, body
            assert body == {
                "status": "ready",
                "checks": {
                    "database": {"ok": True, "detail": {}},
                    "broker": {"ok": True, "detail": {}},
                    "beat": {"ok": True, "detail": {"age_seconds": 0}},
                    "workers": {"ok": True, "detail": {"answering": 1}},
                    "watchers": {"ok": True, "detail": {"live": 0, "stale": 0}},
                },
            }

            private_redis.stop()
            readiness._ping_cache.clear()
            status, body = _ready(client)
            assert status == 503
            assert body["status"] == "not ready"
            assert body["checks"]["broker"]["ok"] is False
            assert body["checks"]["workers"]["ok"] is False
            assert body["checks"]["database"]["ok"] is True

            private_redis.start()  # same port, same data: the worker reconnects
            assert wait_until(lambda: _ready(client)[0] == 200, timeout=60), _ready(client)


def test_readyz_is_not_ready_when_beat_is_silent_or_a_watcher_died(settings):
    settings.POSTACI_READY_BEAT_MAX_AGE = 120
    Heartbeat.objects.create(name="beat", at=timezone.now() - timedelta(minutes=5))
    checks = readiness.readiness()[1]
    assert checks["beat"] == {"ok": False, "detail": {"age_seconds": 300}}

    account = MailAccount.objects.create(
        kind="group", name="Support", email_address="support@example.test"
    )
    assert readiness.check_watchers().ok  # nobody uses IDLE: nothing to watch for
    MailAccount.objects.filter(pk=account.pk).update(watched_at=timezone.now())
    assert readiness.check_watchers().detail == {"live": 1, "stale": 0}
    # the watcher was killed: its mark is no longer refreshed
    MailAccount.objects.filter(pk=account.pk).update(
        watched_at=timezone.now() - timedelta(minutes=10)
    )
    result = readiness.check_watchers()
    assert (result.ok, result.detail) == (False, {"live": 0, "stale": 1})


def test_readyz_shows_no_secrets(settings):
    settings.POSTACI_METRICS_TOKEN = "metrics-secret-token"
    text = Client().get("/readyz").content.decode()
    for secret in (settings.SECRET_KEY, "metrics-secret-token", "redis://", "postgres"):
        assert secret not in text
