"""Many mailboxes: what the watcher queues, on which queue, and what beat's poll leaves to it.

Real Dovecot, Redis and Celery worker; the watcher's connections are the real asyncio ones.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from kombu.exceptions import OperationalError

from mailboxes.intake.fetch import fetch_account
from mailboxes.intake.locking import account_fetch_lock
from mailboxes.intake.queueing import (
    FETCH_NOW_QUEUE,
    POLL_QUEUE,
    accounts_to_poll,
    fetch_enqueue,
    fetch_started,
)
from mailboxes.intake.watch import WatchSupervisor
from mailboxes.models import Email, MailAccount, Security
from mailboxes.tasks import poll_group_accounts
from tests.mailboxes.conftest import make_message
from tests.servers import celery_worker as celery_testing
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting(app, queue: str) -> int:
    """How many tasks wait in one of the broker's queues."""
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue).message_count


@pytest.fixture
def empty_queues(celery_test_app):
    celery_test_app.control.purge()
    return celery_test_app


@pytest.fixture
def watching():
    """Run a supervisor (as ``watchmail`` does) until the test ends."""
    started: list[tuple[WatchSupervisor, threading.Thread]] = []

    def start(on_new_mail, **options) -> WatchSupervisor:
        supervisor = WatchSupervisor(on_new_mail, reload_seconds=3600, **options)
        thread = threading.Thread(target=supervisor.run, daemon=True)
        thread.start()
        started.append((supervisor, thread))
        return supervisor

    yield start
    for supervisor, thread in started:
        supervisor.stop()
        thread.join(timeout=20)


def _live(supervisor: WatchSupervisor) -> bool:
    watchers = list(supervisor.watchers.values())
    return bool(watchers) and all(w.connected.is_set() for w in watchers)


def test_a_restarted_watcher_fetches_only_folders_whose_uidnext_moved(dovecot, make_group_account):
    quiet_user, busy_user = dovecot.add_user("quiet"), dovecot.add_user("busy")
    quiet, busy = make_group_account(quiet_user), make_group_account(busy_user)
    for user in (quiet_user, busy_user):
        dovecot.append(user, "INBOX", make_message())
    fetch_account(quiet.pk)
    fetch_account(busy.pk)  # both fetched: their cursors know UIDNEXT

    heard: list[int] = []
    supervisor = WatchSupervisor(heard.extend, reload_seconds=3600)
    try:
        supervisor.reload()
        assert wait_until(lambda: _live(supervisor))
        assert heard == []  # nothing arrived: connecting queues no fetch

        supervisor.stop_all()  # the watcher restarts; meanwhile one message arrives
        dovecot.deliver(busy_user, make_message(subject="while nobody watched"))
        supervisor.reload()
        assert wait_until(lambda: _live(supervisor))
        assert wait_until(lambda: heard == [busy.pk])
    finally:
        supervisor.stop_all()
    assert heard == [busy.pk]


def test_mail_from_before_the_first_fetch_is_fetched_when_watching_starts(
    dovecot, imap_user, make_group_account
):
    account = make_group_account(imap_user)  # never fetched: no cursor
    heard: list[int] = []
    supervisor = WatchSupervisor(heard.extend, reload_seconds=3600)
    try:
        supervisor.reload()
        assert wait_until(lambda: heard == [account.pk])
    finally:
        supervisor.stop_all()


def test_a_burst_heard_while_queueing_is_queued_together_and_every_account_once(
    dovecot, make_group_account, watching
):
    users = [dovecot.add_user(f"burst{n}") for n in range(6)]
    accounts = [make_group_account(user) for user in users]
    for account in accounts:
        fetch_account(account.pk)  # nothing to catch up at connect
    calls: list[list[int]] = []
    first_call_runs = threading.Event()

    def slow_queueing(account_ids: list[int]) -> None:
        calls.append(account_ids)
        if len(calls) == 1:
            first_call_runs.set()
            time.sleep(1.5)  # a slow broker: what is heard meanwhile must wait, then go together

    supervisor = watching(slow_queueing)
    assert wait_until(lambda: _live(supervisor))
    dovecot.deliver(users[0], make_message())
    assert first_call_runs.wait(10)
    for user in users[1:]:
        dovecot.deliver(user, make_message())
    everyone = sorted(a.pk for a in accounts)
    assert wait_until(lambda: sorted(pk for call in calls for pk in call) == everyone, timeout=15)
    assert calls[0] == [accounts[0].pk]
    assert len(calls) <= 3  # the five heard during the first call: one call, two at most


def test_the_watcher_keeps_queueing_after_a_call_failed(
    dovecot, imap_user, make_group_account, watching
):
    account = make_group_account(imap_user)
    fetch_account(account.pk)
    calls: list[list[int]] = []

    def broker_away_once(account_ids: list[int]) -> None:
        calls.append(account_ids)
        if len(calls) == 1:
            raise OperationalError("the broker is away")

    supervisor = watching(broker_away_once)
    assert wait_until(lambda: _live(supervisor))
    dovecot.deliver(imap_user, make_message(subject="first"))
    assert wait_until(lambda: len(calls) == 1)
    dovecot.deliver(imap_user, make_message(subject="second"))
    assert wait_until(lambda: calls == [[account.pk], [account.pk]])


def test_a_fetch_waiting_in_the_queue_is_not_queued_twice(
    dovecot, make_group_account, empty_queues
):
    first = make_group_account(dovecot.add_user("first"))
    second = make_group_account(dovecot.add_user("second"))

    assert sorted(fetch_enqueue([first.pk, second.pk], urgent=False)) == [first.pk, second.pk]
    assert fetch_enqueue([first.pk, second.pk], urgent=False) == []  # the next poll
    assert _waiting(empty_queues, POLL_QUEUE) == 2

    # mail heard by the watcher overtakes a waiting poll fetch, once
    assert fetch_enqueue([first.pk], urgent=True) == [first.pk]
    assert fetch_enqueue([first.pk], urgent=True) == []
    assert _waiting(empty_queues, FETCH_NOW_QUEUE) == 1

    # a worker took the urgent fetch: mail arriving from now on needs another one
    fetch_started(first.pk, urgent=True)
    assert fetch_enqueue([first.pk], urgent=True) == [first.pk]
    assert _waiting(empty_queues, FETCH_NOW_QUEUE) == 2
    assert _waiting(empty_queues, POLL_QUEUE) == 2


def test_beat_polls_only_what_no_watcher_holds_live(
    dovecot, make_group_account, watching, empty_queues
):
    watched = make_group_account(dovecot.add_user("watched"))
    other = make_group_account(dovecot.add_user("other"))
    if watched.pk % 2 == other.pk % 2:  # one watcher shard each way: only `watched` is watched
        other = make_group_account(dovecot.add_user("other"))
    for account in (watched, other):
        fetch_account(account.pk)

    supervisor = watching(lambda _ids: None, shard=watched.pk % 2, shards=2, check_seconds=0.1)
    assert wait_until(lambda: MailAccount.objects.get(pk=watched.pk).watched_at, timeout=15)

    group = MailAccount.Kind.GROUP
    assert list(accounts_to_poll(group).values_list("pk", flat=True)) == [other.pk]
    assert poll_group_accounts.run() == 1
    assert _waiting(empty_queues, POLL_QUEUE) == 1

    # watched, but silent for longer than polls may trust the watcher: polled as a safety net
    MailAccount.objects.filter(pk=watched.pk).update(last_fetch_at="2000-01-01T00:00Z")
    assert watched.pk in accounts_to_poll(group).values_list("pk", flat=True)

    # the watcher stops: its accounts go back to polling at once
    supervisor.stop()
    assert wait_until(lambda: MailAccount.objects.get(pk=watched.pk).watched_at is None)


def test_mail_the_watcher_hears_of_is_fetched_ahead_of_the_polls_backlog(
    dovecot, make_group_account, watching, empty_queues
):
    watched_user = dovecot.add_user("watched")
    watched = make_group_account(watched_user)
    backlog = [make_group_account(dovecot.add_user(f"polled{n}")) for n in range(4)]
    for account in (watched, *backlog):
        fetch_account(account.pk)
    fetch_enqueue([a.pk for a in backlog], urgent=False)  # a poll queued before the mail

    supervisor = watching(lambda account_ids: fetch_enqueue(account_ids, urgent=True))
    assert wait_until(lambda: _live(supervisor))
    dovecot.deliver(watched_user, make_message(subject="Heard by IDLE"))
    assert wait_until(lambda: _waiting(empty_queues, FETCH_NOW_QUEUE) == 1)

    fetched_before = {a.pk: a.last_fetch_at for a in MailAccount.objects.all()}
    with celery_testing.running_worker(empty_queues):  # one task at a time
        assert wait_until(lambda: Email.objects.filter(subject="Heard by IDLE").exists())
        assert wait_until(
            lambda: all(
                MailAccount.objects.get(pk=a.pk).last_fetch_at != fetched_before[a.pk]
                for a in backlog
            )
        )
    fetched_at = dict(MailAccount.objects.values_list("pk", "last_fetch_at"))
    assert all(fetched_at[watched.pk] < fetched_at[a.pk] for a in backlog)


def test_mail_heard_while_the_account_is_being_fetched_is_fetched_after_that_fetch(
    dovecot, imap_user, make_group_account, celery_worker, caplog
):
    account = make_group_account(imap_user)
    fetch_account(account.pk)
    dovecot.deliver(imap_user, make_message(subject="Heard during another fetch"))
    with (
        caplog.at_level(logging.INFO, logger="mailboxes.tasks"),
        account_fetch_lock(account.pk) as acquired,  # another fetch of the account runs
    ):
        assert acquired
        fetch_enqueue([account.pk], urgent=True)
        assert wait_until(lambda: "being fetched already" in caplog.text, timeout=20)
    # no poll is coming for a watched account: the heard mail must not wait for one
    assert wait_until(
        lambda: Email.objects.filter(subject="Heard during another fetch").exists(), timeout=20
    )


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_watcher_holds_idle_over_tls_with_any_password(
    dovecot, make_group_account, security, test_certificate
):
    # quotes, a backslash, a space and a non-ASCII letter: a quoted string will not do
    user = dovecot.add_user("tls", password='p "ä" \\ ş')
    port = dovecot.imaps_port if security == Security.SSL else dovecot.imap_port
    account = make_group_account(user, imap_port=port, imap_security=security)
    heard: list[int] = []
    supervisor = WatchSupervisor(heard.extend, reload_seconds=3600)
    try:
        supervisor.reload()
        assert wait_until(lambda: _live(supervisor))
        assert wait_until(lambda: heard == [account.pk])  # never fetched: catch up
        dovecot.deliver(user, make_message())
        assert wait_until(lambda: heard == [account.pk, account.pk])
    finally:
        supervisor.stop_all()


def _synchronous_commit() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_only_the_fetch_bookkeeping_commits_without_waiting_for_the_disk(
    dovecot, imap_user, make_group_account
):
    from django.db import transaction
    from django.utils import timezone

    from mailboxes.intake.health import commit_without_flush

    account = make_group_account(imap_user)
    with commit_without_flush():
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == "on"  # the next transaction, an import's, waits again
    with transaction.atomic():  # a caller's transaction (an eager task) stays durable
        with commit_without_flush():
            fetch_started(account.pk, urgent=True)
        assert _synchronous_commit() == "on"
    # the bookkeeping itself is written as before
    MailAccount.objects.filter(pk=account.pk).update(
        fetch_queued_at=timezone.now(), fetch_queued_urgent=True
    )
    fetch_started(account.pk, urgent=True)
    dovecot.append(imap_user, "INBOX", make_message(subject="bookkept"))
    assert fetch_account(account.pk).imported == 1
    account.refresh_from_db()
    assert account.fetch_queued_at is None and account.last_fetch_at is not None
