"""``/readyz``: can this installation take and process mail right now?

Each check answers in well under a second and says only yes/no with an age or a count (no
host names, no addresses, no error texts): the endpoint needs no login. The worker ping
is the only check that waits on other processes; its answer is kept a few seconds so a
load balancer polling every second costs one ping per few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone

from mailboxes.intake.queueing import WATCH_STALE
from mailboxes.models import MailAccount
from ops.models import Heartbeat

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT = "beat"
WORKER_PING_CACHE_SECONDS = 5.0


@dataclass
class Check:
    ok: bool
    detail: dict = field(default_factory=dict)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return Check(False)
    return Check(True)


def check_broker() -> Check:
    """Connect to the broker (one attempt, short timeout)."""
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:
        return Check(False)
    return Check(True)


def check_beat() -> Check:
    """Beat sends ``ops.heartbeat`` every 30 s and a worker records it: a fresh heartbeat
    means beat is scheduling and its jobs are being run."""
    row = Heartbeat.objects.filter(name=BEAT_HEARTBEAT).first()
    if row is None:
        return Check(False, {"age_seconds": None})
    age = (timezone.now() - row.at).total_seconds()
    return Check(age <= settings.POSTACI_READY_BEAT_MAX_AGE, {"age_seconds": round(age)})


_ping_lock = threading.Lock()
_ping_cache: dict[str, tuple[float, int]] = {}


def check_workers() -> Check:
    """At least one Celery worker answers a ping (the answer is kept a few seconds)."""
    from config.celery import app

    url = app.conf.broker_url
    now = time.monotonic()
    with _ping_lock:
        cached = _ping_cache.get(url)
        if cached is None or now - cached[0] > WORKER_PING_CACHE_SECONDS:
            cached = (now, _ping_workers(app))
            _ping_cache[url] = cached
    answering = cached[1]
    return Check(answering > 0, {"answering": answering})


def _ping_workers(app) -> int:
    if not app.connection_for_write().transport.implements.exchange_type & {"fanout"}:
        # the filesystem broker of `make run` has no broadcast: rely on beat's heartbeat
        return int(check_beat().ok)
    # In a thread of its own with a deadline: kombu retries a publish to a lost broker for
    # ever, and a probe must answer.
    future = _ping_executor.submit(_ping, app)
    try:
        return future.result(timeout=settings.POSTACI_READY_PING_TIMEOUT + 3)
    except Exception:
        return 0


_ping_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz-ping")


def _ping(app) -> int:
    """Broadcast a ping over a connection of this call's own (the control's shared producer
    pool may hold a connection to a broker that went away) and count the replies."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        mailbox = app.control.mailbox(conn)
        mailbox.__dict__.pop("producer_pool", None)
        mailbox._producer_pool = None  # publish on this connection
        replies = mailbox._broadcast(
            "ping",
            {},
            None,
            reply=True,
            timeout=settings.POSTACI_READY_PING_TIMEOUT,
            limit=1,
        )
    return len(replies or [])


def check_watchers() -> Check:
    """Accounts the IMAP IDLE watcher marked live must keep being marked: a mark older than
    the watcher's refresh (3 min) means the watcher holding them is gone."""
    now = timezone.now()
    marked = MailAccount.objects.filter(
        status=MailAccount.Status.ACTIVE, use_imap=True, watched_at__isnull=False
    )
    live = marked.filter(watched_at__gte=now - WATCH_STALE).count()
    stale = marked.filter(watched_at__lt=now - WATCH_STALE).count()
    return Check(stale == 0, {"live": live, "stale": stale})


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "beat": check_beat,
    "workers": check_workers,
    "watchers": check_watchers,
}


def readiness() -> tuple[bool, dict]:
    """Run every check; ready when all pass. Checks that need the database, or the
    broker, are not run (and fail) while it is down."""
    results: dict[str, Check] = {"database": check_database()}
    for name, check in CHECKS.items():
        if name in results:
            continue
        if name in ("beat", "watchers") and not results["database"].ok:
            results[name] = Check(False)
            continue
        if name == "workers" and not results["broker"].ok:
            results[name] = Check(False, {"answering": 0})
            continue
        try:
            results[name] = check()
        except Exception as exc:
            logger.warning("Readiness check %s failed: %s", name, type(exc).__name__, exc_info=True)
            results[name] = Check(False)
    ready = all(result.ok for result in results.values())
    return ready, {name: asdict(result) for name, result in results.items()}


def heartbeat_record(name: str, *, hostname: str = "") -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"at": timezone.now(), "hostname": hostname[:255]}
    )
