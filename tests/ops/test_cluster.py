"""A small cluster on this machine, as two machines would run it: two Celery workers with
their own host names and var dirs, one beat, two ``watchmail --shard i/2``, one web process
(gunicorn, as deployed), PostgreSQL and a Redis of the test's own. One worker is SIGKILLed
(with its pool) in the middle of fetching, one watcher in the middle of IDLE: every message
is imported exactly once by the survivors, the dead watcher's mailboxes are still fetched,
by beat's poll, the web process answers ready throughout with the surviving worker, and
beat keeps one schedule (one row per job, each job run on time, none twice).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from mailboxes.models import Email, MailAccount, RawMessage
from ops.models import JobOutcome
from tests.mailboxes.conftest import make_message, subprocess_env
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 6
PER_ACCOUNT = 120


class Cluster:
    def __init__(self, env: dict, logs: Path) -> None:
        self.env, self.logs = env, logs
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], **env) -> None:
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env | env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.logs / f"{name}.log", "ab"),  # noqa: SIM115
            start_new_session=True,  # its own process group: a "machine" to kill at once
        )

    def worker(self, name: str) -> None:
        var = self.logs / name
        var.mkdir()
        self.start(
            name,
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "config",
                "worker",
                "--hostname",
                f"{name}@cluster",
                "--concurrency",
                "1",
                "-Q",
                "fetch_now,celery,poll",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ],
            POSTACI_VAR_DIR=str(var),
        )

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _readiness(port: int) -> dict:
    """``/readyz`` of the web process (its JSON, whatever the status code)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)
    except OSError:
        return {}


def _fast_schedule() -> None:
    """beat polls every 2 seconds and runs its heartbeat; the other jobs are off."""
    every_two, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(
        task__in=["mailboxes.poll_group_accounts", "ops.heartbeat"]
    ).update(enabled=False)
    PeriodicTask.objects.filter(task="mailboxes.poll_group_accounts").update(interval=every_two)


def test_cluster_survives_a_worker_killed_mid_fetch_and_a_watcher_killed_mid_idle(
    dovecot, make_group_account, private_redis, tmp_path
):
    users = [dovecot.add_user(f"cluster{i}") for i in range(ACCOUNTS)]
    for i, user in enumerate(users):
        dovecot.append_many(
            user, "INBOX", [make_message(subject=f"m{i}-{n}") for n in range(PER_ACCOUNT)]
        )
    accounts = [make_group_account(user, name=f"Cluster {i}") for i, user in enumerate(users)]
    _fast_schedule()
    total = ACCOUNTS * PER_ACCOUNT

    env = subprocess_env() | {
        "CELERY_BROKER_URL": private_redis.url,
        "POSTACI_FETCH_BATCH_SIZE": "10",
        # a fetch cut off by the SIGKILL is delivered again after this long
        "CELERY_VISIBILITY_TIMEOUT": "20",
        # beat's poll takes over a watched account silent for this long (the dead watcher's
        # marks would otherwise count for WATCH_STALE, 3 minutes)
        "POSTACI_WATCHED_POLL_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    cluster = Cluster(env, tmp_path)
    python = str(ROOT / ".venv/bin/python")
    web_port = _free_port()
    try:
        cluster.start(
            "web",
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "1",
            ],
        )
        cluster.worker("w1")
        cluster.worker("w2")
        cluster.start("watch0", [python, "manage.py", "watchmail", "--shard", "0/2"])
        cluster.start("watch1", [python, "manage.py", "watchmail", "--shard", "1/2"])
        cluster.start(
            "beat",
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "WARNING",
                "--pidfile=",
                "--max-interval",
                "1",
            ],
        )

        # mid-fetch: some batches committed, most not
        assert wait_until(lambda: 30 < RawMessage.objects.count() < total / 2, 90, 0.02), (
            cluster.log()
        )
        cluster.kill("w1")
        started_polling = timezone.now()

        # mid-IDLE: both watchers hold their mailboxes live, then one dies
        assert wait_until(
            lambda: MailAccount.objects.filter(watched_at__isnull=False).count() == ACCOUNTS,
            60,
        ), cluster.log()
        cluster.kill("watch0")

        assert wait_until(
            lambda: RawMessage.objects.filter(status=RawMessage.Status.IMPORTED).count() == total,
            180,
            0.5,
        ), (RawMessage.objects.count(), cluster.log())
        assert RawMessage.objects.count() == total
        assert Email.objects.count() == total  # each message once, none twice

        # new mail for every mailbox, delivered as an MTA does: the live watcher's by IDLE,
        # the dead watcher's by beat's poll
        dead = [account for account in accounts if account.pk % 2 == 0]
        assert dead
        since = timezone.now() - timedelta(seconds=1)
        for i, user in enumerate(users):
            dovecot.deliver(user, make_message(subject=f"late {i}"))
        assert wait_until(
            lambda: Email.objects.filter(subject__startswith="late ").count() == ACCOUNTS,
            60,
            0.5,
        ), cluster.log()
        assert Email.objects.count() == total + ACCOUNTS
        assert all(
            MailAccount.objects.get(pk=account.pk).last_fetch_at >= since for account in dead
        )
        assert not RawMessage.objects.exclude(status=RawMessage.Status.IMPORTED).exists()

        # the web process, on the same database and broker: ready, the surviving worker
        # answering and beat's heartbeat recent
        assert wait_until(lambda: _readiness(web_port).get("status") == "ready", 60, 1), (
            _readiness(web_port),
            cluster.log(),
        )

        # one schedule: every process started (beat, workers, web) and none added a copy;
        # beat sent the 2-second poll about once per 2 seconds (not once per process)
        assert not (
            PeriodicTask.objects.values("task").annotate(n=Count("id")).filter(n__gt=1).exists()
        )
        poll = PeriodicTask.objects.get(task="mailboxes.poll_group_accounts")
        finished: set = set()

        def poll_runs_seen() -> bool:
            outcome = JobOutcome.objects.filter(name=poll.name).first()
            if outcome is not None and outcome.finished_at >= started_polling:
                finished.add(outcome.finished_at)
            return False

        window = 20
        wait_until(poll_runs_seen, window, 0.25)  # samples the last run for 20 seconds
        assert window / 2 - 4 <= len(finished) <= window / 2 + 2, (len(finished), cluster.log())
    finally:
        cluster.stop_all()
