"""A real Celery worker (in a thread) on the test Redis, isolated from other test runs.

Every test session (each pytest-xdist worker is one) gets its own Redis key prefix, kombu's
``global_keyprefix``: queues, bindings, fan-out channels and results all live under it. Two
``make test`` runs from different checkouts on the same Redis therefore never see, let alone
take, each other's tasks; the keys are deleted when the session ends.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, start_worker's check)
import redis
from celery import Celery
from celery._state import _register_app
from celery.contrib.testing.worker import TestWorkController, start_worker

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The Redis the tests use: ``TEST_REDIS_URL``, set by ``make test``."""
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def new_key_prefix(label: str = "") -> str:
    """Return a Redis key prefix no other run uses: ``postaci-test:<label>-<random>:``."""
    return f"postaci-test:{label + '-' if label else ''}{uuid.uuid4().hex[:12]}:"


def configure_for_tests(app: Celery, *, url: str, key_prefix: str) -> None:
    """Point *app* at Redis under *key_prefix*, with results stored, never eager."""
    app.close()  # drop connection pools made with an earlier configuration
    # close() also forgets the app, after which a shared task imported later would never be
    # registered on it (celery._state); the app stays in use, so register it again.
    _register_app(app)
    app.conf.update(
        broker_url=url,
        # polling_interval is also the BRPOP timeout: a worker stops within it.
        broker_transport_options={"global_keyprefix": key_prefix, "polling_interval": 0.1},
        result_backend=url,
        result_backend_transport_options={"global_keyprefix": key_prefix},
        task_ignore_result=False,
        task_always_eager=False,
        task_eager_propagates=False,
        # The embedded worker must leave the test process's logging alone.
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=False,
    )
    with suppress(AttributeError):
        del app._local.backend  # the result backend is cached per thread


def delete_keys(url: str, key_prefix: str) -> int:
    """Delete every Redis key under *key_prefix*; return how many there were."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


@contextmanager
def running_worker(app: Celery, *, shutdown_timeout: float = 30.0) -> Iterator[TestWorkController]:
    """Run a worker for *app* in a thread (solo pool: one task at a time) until the block ends.

    Tasks run in the worker thread, with their own database connection: the tests that use
    it need ``transactional_db`` so the worker sees their data.
    """
    if app.tasks["celery.ping"].ignore_result:
        raise RuntimeError(
            "Celery tasks were bound before configure_for_tests() ran, so their results are "
            "ignored; configure the app before anything uses a task (see fixtures.py)."
        )
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=True,
        shutdown_timeout=shutdown_timeout,
        loglevel="WARNING",
    ) as worker:
        yield worker


@contextmanager
def running_beat(app: Celery, *, max_interval: float = 0.5) -> Iterator[None]:
    """Run celery beat with django-celery-beat's database scheduler (the production one) in a
    thread until the block ends: the periodic tasks in the database send their tasks."""
    from celery.beat import Service
    from django.db import connection

    service = Service(
        app,
        max_interval=max_interval,
        scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler",
    )

    def run() -> None:
        try:
            service.start()
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="celery-beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        service.stop()
        thread.join(10)


__all__ = [
    "configure_for_tests",
    "delete_keys",
    "new_key_prefix",
    "redis_url",
    "running_beat",
    "running_worker",
]
