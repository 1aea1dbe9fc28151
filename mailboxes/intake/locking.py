"""One fetch per account at a time, across any number of workers and machines.

On PostgreSQL a session-level advisory lock: it does not hold a transaction open during IMAP
I/O (batches commit while it is held) and the server releases it when the holder's connection
dies, so a killed worker never leaves a stale lock. On SQLite (one machine by nature) an
``flock`` on a file under ``var/locks`` has the same two properties.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_LOCK_NAMESPACE = 0x706F  # "po": keeps Postaci's advisory locks apart from other users'
_IMPORT_NAMESPACE = 0x7069  # "pi": one worker per archive import (mailboxes/intake/importing.py)


@contextmanager
def account_fetch_lock(account_id: int, *, wait: float = 0) -> Iterator[bool]:
    """Yield True when this process now holds the account's fetch lock, False if another
    does (the caller then skips the run). ``wait`` seconds to wait for it, polling."""
    deadline = time.monotonic() + wait
    while True:
        with _try_lock(account_id) as acquired:
            if acquired or time.monotonic() >= deadline:
                yield acquired
                return
        time.sleep(0.2)


@contextmanager
def import_lock(import_id: int) -> Iterator[bool]:
    """Yield True when this process now holds the lock of one archive import (a task
    delivered twice must not read the same file twice at once), False if another does."""
    with _try_lock(import_id, namespace=_IMPORT_NAMESPACE, name="import") as acquired:
        yield acquired


@contextmanager
def _try_lock(
    account_id: int, *, namespace: int = _LOCK_NAMESPACE, name: str = "fetch"
) -> Iterator[bool]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, account_id])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired and connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, account_id])
        return

    lock_dir = settings.VAR_DIR / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    # per database file, like advisory locks are per database (test runs share VAR_DIR)
    database = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:12]
    path = lock_dir / f"{name}-{database}-{account_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
