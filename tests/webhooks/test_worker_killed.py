"""A real Celery worker process SIGKILLed in the middle of a delivery: the delivery is sent
again with the same id, so a receiver that drops repeats processes the event once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cases.models import Case
from crm.records import record_create
from tests.mailboxes.conftest import subprocess_env
from tests.waiting import wait_until
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_a_delivery_arrives_once_per_id_after_its_worker_is_killed(
    make_user, make_endpoint, receiver, celery_test_app
):
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"])
    receiver.delays = [30]  # the first attempt hangs: the worker is killed meanwhile
    celery_test_app.control.purge()
    env = subprocess_env() | {
        "CELERY_BROKER_URL": celery_test_app.conf.broker_url,
        "CELERY_KEY_PREFIX": celery_test_app.conf.broker_transport_options["global_keyprefix"],
        "POSTACI_MAIL_HOST_ALLOWLIST": "127.0.0.1",  # the receiver, whatever other tests did
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "-Q",
            "celery",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        record_create(Case(name="Printer on fire"), user=admin)  # committed: the task is queued
        # a loaded machine may take long to start a worker: generous, only spent on failure
        arrived = wait_until(lambda: len(receiver.requests) == 1, timeout=180, interval=0.05)
        rows = list(WebhookDelivery.objects.values("status", "attempts", "last_error"))
        assert arrived, (
            f"the worker never sent the first attempt (alive: {worker.poll() is None}, "
            f"deliveries: {rows})"
        )
        [child] = _children(worker.pid)
        os.kill(child, signal.SIGKILL)  # mid-delivery
        wait_until(
            lambda: WebhookDelivery.objects.filter(status="delivered").exists(),
            timeout=180,
            interval=0.1,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered", (delivery.attempts, len(receiver.requests))
    ids = [headers["Postaci-Delivery"] for headers, _body in receiver.requests]
    assert len(ids) >= 2 and set(ids) == {str(delivery.pk)}
    assert len(set(ids)) == 1  # what a receiver keeping the ids it has seen processes: once
    assert delivery.attempts == 1  # the killed attempt left nothing behind
