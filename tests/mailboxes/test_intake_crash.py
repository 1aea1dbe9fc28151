"""Crash safety and concurrency with real processes: SIGKILL mid-fetch, two workers at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, FolderCursor, RawMessage
from tests.mailboxes.conftest import make_message, subprocess_env
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")


def _fetchmail(account_id: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, MANAGE, "fetchmail", "--account", str(account_id), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _fetch_until_done(account_id: int):
    for _ in range(50):
        summary = fetch_account(account_id)
        if not summary.locked:
            return summary
        time.sleep(0.1)  # the killed worker's connection is still being torn down
    raise AssertionError("the fetch lock was never released")


def test_sigkill_at_random_points_during_a_large_fetch_leaves_one_email_per_message(
    dovecot, imap_user, make_group_account
):
    total = 3000
    # received a minute apart, the oldest first: UID n was received at received[n]
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=total)
    received = {uid: start + timedelta(minutes=uid) for uid in range(1, total + 1)}
    dovecot.append_many(
        imap_user, "INBOX", [{"msg": make_message(), "date": received[uid]} for uid in received]
    )
    account = make_group_account(imap_user)
    env = subprocess_env() | {"POSTACI_FETCH_BATCH_SIZE": "40"}
    seed = int(os.environ.get("POSTACI_TEST_SEED", time.time()))
    rng = random.Random(seed)

    counts = [0]
    for _attempt in range(5):
        process = _fetchmail(account.pk, env)
        # Wait until this worker is committing batches, then kill it at a random moment.
        wait_until(lambda: Email.objects.count() != counts[-1], timeout=30, interval=0.01)
        time.sleep(rng.uniform(0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        counts.append(Email.objects.count())
        # what the killed fetch left is known, with the cursor it committed
        cursor = FolderCursor.objects.get(account=account)
        assert cursor.pending_since == received.get(cursor.last_uid + 1), (cursor, seed)
        if counts[-1] == total:
            break
    interrupted = [c for c in counts[1:] if 0 < c < total]
    assert len(interrupted) >= 3, f"kills did not land mid-fetch: {counts} (seed {seed})"

    _fetch_until_done(account.pk)
    assert FolderCursor.objects.get(account=account).pending_since is None
    assert Email.objects.count() == total, f"seed {seed}"
    assert Email.objects.values("message_id").distinct().count() == total
    assert RawMessage.objects.count() == total
    assert not RawMessage.objects.exclude(status=RawMessage.Status.IMPORTED).exists()


def test_two_workers_fetching_the_same_account_at_once_import_each_message_once(
    dovecot, imap_user, make_group_account
):
    total = 600
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(total)])
    account = make_group_account(imap_user)
    env = subprocess_env() | {"POSTACI_FETCH_BATCH_SIZE": "50"}

    workers = [_fetchmail(account.pk, env) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs

    assert Email.objects.count() == total
    assert RawMessage.objects.count() == total
    assert Email.objects.values("message_id").distinct().count() == total
