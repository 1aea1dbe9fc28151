"""Waiting for a real worker, server or browser to get somewhere, without sleeping blind."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy; return that, or the last value.

    SQLite's shared in-memory test database answers "table is locked" while a worker thread
    writes; that is "not yet", not a failure (PostgreSQL never says it).
    """
    deadline = time.monotonic() + timeout
    value = None
    while True:
        try:
            value = condition()
        except OperationalError:
            value = None
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
