"""Queueing fetches: which accounts beat's poll takes, on which queue, and never twice.

Two queues for fetches (their order is the workers' ``-Q fetch_now,celery,poll``):

- ``fetch_now``: mail the IDLE watcher heard of, "Fetch now", a saved account. A person or
  a customer is waiting, so these run ahead of the poll's.
- ``poll``: beat's poll, the fallback for accounts nobody watches live.

An account with a fetch waiting in the queue has ``fetch_queued_at`` set (cleared by the
task when a worker starts it), so a poll, or a watcher hearing of ten messages, never queues
a second one: at 10,000 accounts the queue stays at most one fetch per account. An urgent
fetch may still overtake a waiting poll fetch. A mark older than ``QUEUED_EXPIRY`` is
taken for a lost task (a purged broker) and queued again. The mark lives in the database,
so it works the same on the zero-setup filesystem broker as on Redis.

The watcher also writes ``watched_at`` for each account it holds IDLE on for every
monitored folder (mailboxes/intake/watch.py); beat's poll skips such an account unless it
has been silent for ``POSTACI_WATCHED_POLL_SECONDS`` (a safety net for a server that stops
telling). A watcher that dies without clearing its marks stops counting after
``WATCH_STALE``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from mailboxes.models import MailAccount

logger = logging.getLogger(__name__)

FETCH_NOW_QUEUE = "fetch_now"
POLL_QUEUE = "poll"
QUEUED_EXPIRY = timedelta(minutes=15)
# the watcher refreshes its marks every minute (HEARTBEAT_SECONDS in watch.py)
WATCH_STALE = timedelta(minutes=3)


def fetch_enqueue(account_ids: Iterable[int], *, urgent: bool) -> list[int]:
    """Queue a fetch of each account that has none waiting (for ``urgent``: none waiting in
    the fetch_now queue), in the order given; return the ids queued. Sent when the caller's
    transaction commits.

    A broker that cannot be reached is logged and the marks are taken back: the next poll
    (or notification) tries again.
    """
    ids = list(account_ids)
    if not ids:
        return []
    now = timezone.now()
    free = Q(fetch_queued_at__isnull=True) | Q(fetch_queued_at__lt=now - QUEUED_EXPIRY)
    if urgent:
        free |= Q(fetch_queued_urgent=False)
    # One UPDATE claims the free accounts, marking them with this call's own timestamp: a
    # concurrent claimer waits for the rows and then finds them taken (the database checks
    # the condition again), so no account is queued twice; the marks then say which are ours.
    if not MailAccount.objects.filter(free, pk__in=ids).update(
        fetch_queued_at=now, fetch_queued_urgent=urgent
    ):
        return []
    ours = set(
        MailAccount.objects.filter(pk__in=ids, fetch_queued_at=now).values_list("pk", flat=True)
    )
    # in the order given: what the watcher heard first is fetched first
    claimed = [pk for pk in dict.fromkeys(ids) if pk in ours]
    transaction.on_commit(lambda: _send(claimed, urgent=urgent))
    return claimed


def _send(account_ids: list[int], *, urgent: bool) -> None:
    from mailboxes.tasks import fetch_account

    queue = FETCH_NOW_QUEUE if urgent else POLL_QUEUE
    position = 0
    try:
        # one producer (one broker connection from the pool) for all of them
        with fetch_account.app.producer_or_acquire() as producer:
            for position, account_id in enumerate(account_ids):  # noqa: B007
                fetch_account.apply_async(
                    (account_id,), {"urgent": urgent}, queue=queue, producer=producer
                )
    except OperationalError:
        unsent = account_ids[position:]
        logger.exception(
            "The broker refused fetches of %s accounts; the next poll queues them again",
            len(unsent),
        )
        MailAccount.objects.filter(pk__in=unsent, fetch_queued_urgent=urgent).update(
            fetch_queued_at=None, fetch_queued_urgent=False
        )
        raise


def broker_connect() -> None:
    """Connect to the broker now, so the first mail the watcher hears does not wait for
    the broker's client to load and connect (seconds on a busy machine). A broker that is
    down is only logged: queueing tries again at each notification."""
    from mailboxes.tasks import fetch_account

    try:
        with fetch_account.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except OperationalError as exc:
        logger.warning("The broker cannot be reached yet (%s); fetches wait for it", exc)


def fetch_started(account_id: int, *, urgent: bool) -> None:
    """A worker takes the account's queued fetch: mail arriving from now on needs another.
    A mark of the other queue stays (an urgent fetch queued behind a poll's). Committed
    without waiting for the disk (``commit_without_flush``): lost in a database crash, the
    mark only keeps the account from being queued again until ``QUEUED_EXPIRY``."""
    from mailboxes.intake.health import commit_without_flush

    with commit_without_flush():
        MailAccount.objects.filter(pk=account_id, fetch_queued_urgent=urgent).update(
            fetch_queued_at=None, fetch_queued_urgent=False
        )


def accounts_to_poll(kind: str) -> QuerySet[MailAccount]:
    """The accounts of one kind beat's poll fetches: those due (no back-off, signed in) that
    no watcher holds live, or that have been silent for ``POSTACI_WATCHED_POLL_SECONDS``."""
    from mailboxes.intake.health import accounts_due_for_fetch

    now = timezone.now()
    silent_since = now - timedelta(seconds=settings.POSTACI_WATCHED_POLL_SECONDS)
    watched_live = Q(watched_at__gte=now - WATCH_STALE) & Q(last_fetch_at__gte=silent_since)
    return accounts_due_for_fetch(kind).exclude(watched_live)


def accounts_mark_watched(account_ids: Iterable[int], *, live: bool) -> int:
    """The watcher's heartbeat: ``live`` accounts are watched on every folder as of now;
    the others no longer (their connection dropped, or the watcher stops)."""
    ids = list(account_ids)
    if not ids:
        return 0
    return MailAccount.objects.filter(pk__in=ids).update(
        watched_at=timezone.now() if live else None
    )
