"""IMAP IDLE: hear about new mail the moment the server has it, and enqueue a fetch.

Every (account, monitored folder) keeps an IDLE connection (IDLE watches the selected folder
only). All of a process's connections live on one asyncio event loop (``IdleLoop``), with a
few threads beside it for what blocks: the database, the broker, DNS, OAuth tokens. A
thousand connections so cost a few tens of megabytes and no CPU while idle, where a thread
and an ``IMAPClient`` each took a gigabyte and 1,001 threads (issue 15). The IMAP side is
mailboxes/connection/idle_client.py.

Each watcher re-issues IDLE before the 29-minute limit of RFC 2177 and reconnects with
jittered back-off after any error. After (re)connecting it queues a fetch only when the
folder's UIDNEXT or UIDVALIDITY says there is mail the fetch cursor has not seen, so a
restarted watcher does not fetch a thousand idle accounts; first connections are spread
over a few seconds (``CONNECTS_PER_SECOND``) so a restart is no thundering herd.

The supervisor picks up new, changed, deactivated and deleted accounts within seconds: every
``check_seconds`` it reads a stamp of the account table (count, highest id, latest
``modified_at``: one aggregate query on a small table) and reloads when the stamp changes,
so saving an account anywhere (web, Django admin, shell, another machine) wakes every
watcher process on every machine through the database they share, on SQLite as on
PostgreSQL, with no extra service. A full reload every ``reload_seconds`` also catches
changes written by queryset ``update()``, which do not touch ``modified_at``.

Notifications that arrive together are queued together (``NewMailReports``): while one
call queues what was heard (a claim ``UPDATE``, its commit, the broker), the accounts heard
meanwhile wait and go in the next call, so mail heard in the same moment in many mailboxes
costs one or two queueing calls instead of one each, and the loop's few threads are never
all busy queueing one account apiece.

The supervisor also writes the heartbeat ``watched_at`` of every account whose folders are
all watched live (mailboxes/intake/queueing.py): beat's poll leaves those alone, and takes
over within a minute when a connection drops. Polling stays the fallback: a missed
notification only delays mail until the next poll.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import random
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Count, Max
from imapclient.exceptions import IMAPClientError, LoginError

from mailboxes.connection.credentials import ReconnectNeeded, account_bearer
from mailboxes.connection.hosts import checked_addresses
from mailboxes.connection.idle_client import AsyncImap, FolderState, use_small_tls_buffers
from mailboxes.connection.imap import ImapSettings, connection_error
from mailboxes.connection.network import mail_ssl_context
from mailboxes.exceptions import MailError
from mailboxes.intake.health import oauth_signed_out
from mailboxes.intake.queueing import accounts_mark_watched
from mailboxes.models import FolderCursor, MailAccount, Security

logger = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 25 * 60
MAX_BACKOFF_SECONDS = 300
# First connections of a reload are spread at this rate (a restart of 1,000: ten seconds),
# and at most this many are being set up at once.
CONNECTS_PER_SECOND = 100
CONCURRENT_CONNECTS = 50
# How often the heartbeat of the live accounts is written again (see queueing.WATCH_STALE).
HEARTBEAT_SECONDS = 60
# Threads beside the event loop for database, broker, DNS and OAuth calls.
BLOCKING_THREADS = 4
# files a watcher process holds besides its IMAP connections: database, broker, logs, libraries
FILES_BESIDES_CONNECTIONS = 64

# (uidvalidity, last_uid) of a folder's fetch cursor; None: never fetched
CursorState = tuple[int | None, int] | None
_UNKNOWN = object()


@dataclass(frozen=True)
class WatchTarget:
    account_id: int
    folder: str
    imap: ImapSettings

    @property
    def fingerprint(self) -> str:
        """Changes when anything that needs a new connection changes."""
        text = f"{self.account_id}|{self.folder}|{self.imap}"
        return hashlib.sha256(text.encode()).hexdigest()


def accounts_stamp() -> tuple:
    """Changes whenever an account is created, saved or deleted (see the module docstring)."""
    stamp = MailAccount.objects.aggregate(n=Count("pk"), last=Max("pk"), saved=Max("modified_at"))
    return (stamp["n"], stamp["last"], stamp["saved"])


def watch_targets(shard: int = 0, shards: int = 1) -> list[WatchTarget]:
    """Every active account's monitored folders, for this shard (account id modulo shards)."""
    targets = []
    accounts = MailAccount.objects.filter(status=MailAccount.Status.ACTIVE, use_imap=True).exclude(
        oauth_signed_out()
    )
    for account in accounts.order_by("pk"):
        if account.pk % shards != shard or not account.imap_host:
            continue
        imap = ImapSettings.of(account)
        for folder in account.monitored_folders or ["INBOX"]:
            targets.append(WatchTarget(account.pk, folder, imap))
    return targets


def cursor_states(targets: list[WatchTarget]) -> dict[tuple[int, str], CursorState]:
    """The fetch cursors of the targets' folders, in one query (missing: never fetched)."""
    states: dict[tuple[int, str], CursorState] = {(t.account_id, t.folder): None for t in targets}
    rows = FolderCursor.objects.filter(account_id__in={t.account_id for t in targets}).values_list(
        "account_id", "folder", "uidvalidity", "last_uid"
    )
    for account_id, folder, uidvalidity, last_uid in rows:
        if (account_id, folder) in states:
            states[account_id, folder] = (uidvalidity, last_uid)
    return states


def folder_has_unseen_mail(cursor: CursorState, state: FolderState) -> bool:
    """Whether the folder holds mail the fetch cursor has not seen: UIDNEXT moved past it,
    or the UIDs were renumbered (UIDVALIDITY). When the server does not say, assume so."""
    if cursor is None or state.uidvalidity is None or state.uidnext is None:
        return True
    uidvalidity, last_uid = cursor
    return uidvalidity != state.uidvalidity or state.uidnext > last_uid + 1


def _blocking(function: Callable, *args, **kwargs):
    """Run in one of the loop's threads with a sound database connection, as a request does."""
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


class IdleLoop:
    """One event loop thread for the IDLE connections of a process, and the few threads
    that do their blocking work."""

    def __init__(self, blocking_threads: int = BLOCKING_THREADS):
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(blocking_threads, thread_name_prefix="idle-io")
        )
        self.connect_slots: asyncio.Semaphore | None = None
        started = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(started,), name="idle-loop", daemon=True
        )
        self.thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        use_small_tls_buffers()
        asyncio.set_event_loop(self.loop)
        self.connect_slots = asyncio.Semaphore(CONCURRENT_CONNECTS)
        self.loop.call_soon(started.set)
        self.loop.run_forever()

    def submit(self, coroutine) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)


_shared_loop: IdleLoop | None = None
_shared_loop_lock = threading.Lock()


def shared_idle_loop() -> IdleLoop:
    """The process's IDLE loop, started on first use."""
    global _shared_loop
    with _shared_loop_lock:
        if _shared_loop is None:
            _shared_loop = IdleLoop()
        return _shared_loop


class NewMailReports:
    """Hands the accounts the watchers heard of to ``on_new_mail(account_ids)``, in one of the
    loop's threads: every account heard while a call runs goes in the next one (once,
    however often it was heard meanwhile). At most one call runs at a time, so queueing a
    burst is a few calls in a row and a notification never waits behind a queue of them."""

    def __init__(self, on_new_mail: Callable[[list[int]], None], idle_loop: IdleLoop):
        self.on_new_mail = on_new_mail
        self.idle_loop = idle_loop
        self._lock = threading.Lock()
        self._heard: dict[int, None] = {}  # in the order heard
        self._calling = False

    def report(self, account_id: int) -> None:
        """Called on the loop: queue a fetch of the account soon, never block."""
        with self._lock:
            self._heard[account_id] = None
            if self._calling:
                return  # the running call takes it next
            self._calling = True
        self.idle_loop.loop.run_in_executor(None, self._call_until_done)

    def _call_until_done(self) -> None:
        while True:
            with self._lock:
                account_ids = list(self._heard)
                self._heard.clear()
                if not account_ids:
                    self._calling = False
                    return
            logger.debug("New mail in accounts %s", account_ids)
            try:
                _blocking(self.on_new_mail, account_ids)
            except Exception as exc:  # the broker or database is away: polls cover them
                logger.error("Queueing fetches of accounts %s failed: %s", account_ids, exc)


class FolderWatcher:
    """Keeps one IDLE connection open and calls ``report(account_id)`` (on the loop; it
    must not block) when the folder has mail the fetch cursor has not seen.

    ``cursor``: the folder's fetch cursor as the supervisor read it (saves a query per
    folder when a thousand connect); left out, it is read at connect time.
    """

    def __init__(
        self,
        target: WatchTarget,
        report: Callable[[int], None],
        *,
        cursor: CursorState | object = _UNKNOWN,
        start_delay: float = 0.0,
        idle_loop: IdleLoop | None = None,
    ):
        self.target = target
        self.report = report
        self.connected = threading.Event()
        self.failures = 0
        self._cursor = cursor
        self._start_delay = start_delay
        self._idle_loop = idle_loop or shared_idle_loop()
        self._task: asyncio.Task | None = None
        self._started = False
        self._stop_asked = False
        self._finished = threading.Event()

    # --- seen from the supervisor's thread ---------------------------------------------------

    def start(self) -> None:
        self._started = True
        self._idle_loop.submit(self._main())

    def stop(self) -> None:
        """Close the connection and end; returns at once (``join`` waits)."""
        self._idle_loop.loop.call_soon_threadsafe(self._cancel)

    def join(self, timeout: float | None = None) -> None:
        if self._started:
            self._finished.wait(timeout)

    def is_alive(self) -> bool:
        return self._started and not self._finished.is_set()

    # --- on the loop ------------------------------------------------------------------------

    def _cancel(self) -> None:
        self._stop_asked = True
        if self._task is not None:
            self._task.cancel()

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        try:
            if not self._stop_asked:
                await self.run()
        except asyncio.CancelledError:
            pass
        finally:
            self._finished.set()

    async def run(self) -> None:
        await asyncio.sleep(self._start_delay)
        while True:
            try:
                await self._watch_once()
                continue
            except ReconnectNeeded as exc:
                # signed out (and marked so): the next reload leaves the account out
                logger.warning("IDLE on account %s stops: %s", self.target.account_id, exc)
                return
            except (MailError, OSError, IMAPClientError) as exc:
                problem = connection_error(
                    exc, self.target.imap.host, oauth=self.target.imap.oauth_account is not None
                )
            except Exception as exc:  # a bug must not end the watching of this folder
                logger.exception("IDLE on account %s crashed", self.target.account_id)
                problem = exc
            self.failures += 1
            delay = min(2**self.failures, MAX_BACKOFF_SECONDS) * random.uniform(0.5, 1)  # noqa: S311
            # out of file descriptors is this machine's problem: said as such, loudly
            local = getattr(problem, "code", "") == "local_limit"
            (logger.error if local else logger.warning)(
                "IDLE on account %s folder %s failed (%s); retrying in %.0fs",
                self.target.account_id,
                self.target.folder,
                problem,
                delay,
            )
            await asyncio.sleep(delay)

    async def _watch_once(self) -> None:
        slots = self._idle_loop.connect_slots
        async with slots:
            client = await self._connect()
        try:
            if not client.has_capability("IDLE"):
                logger.info("Account %s has no IDLE; polling covers it", self.target.account_id)
                await asyncio.sleep(IDLE_RENEW_SECONDS)
                return
            state = await client.examine(self.target.folder)
            cursor = await self._fetch_cursor()
            if folder_has_unseen_mail(cursor, state):
                self._report()  # mail that arrived while nobody was watching
            loop = asyncio.get_running_loop()
            while True:
                await client.idle()
                self.connected.set()
                self.failures = 0  # the back-off starts over after this connection
                renew_at = loop.time() + IDLE_RENEW_SECONDS
                while (remaining := renew_at - loop.time()) > 0:
                    if await client.idle_wait(remaining):
                        self._report()  # still in IDLE: the fetch uses its own connection
                await client.idle_done()
        finally:
            self.connected.clear()
            await client.logout()

    async def _connect(self) -> AsyncImap:
        """Open, secure and log in, as ``imap_connect`` does for the fetch."""
        imap = self.target.imap
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, checked_addresses, imap.host, imap.port)
        context = mail_ssl_context() if imap.security != Security.NONE else None
        for position, address in enumerate(addresses):  # as socket.create_connection does
            try:
                client = await AsyncImap.open(
                    address,
                    imap.port,
                    server_hostname=imap.host,
                    implicit_tls=imap.security == Security.SSL,
                    ssl_context=context,
                    timeout=settings.POSTACI_IMAP_TIMEOUT,
                )
                break
            except OSError:
                if position == len(addresses) - 1:
                    raise
        try:
            if imap.security == Security.STARTTLS:
                await client.starttls(context, imap.host)
            if imap.oauth_account is not None:
                await self._oauth_login(client, imap.oauth_account)
            else:
                await client.login(imap.username, imap.password)
            if not client.capabilities or b"IDLE" not in client.capabilities:
                await client.capability()
        except BaseException:
            client.close()
            raise
        return client

    async def _oauth_login(self, client: AsyncImap, account_id: int) -> None:
        """XOAUTH2 with the account's token; a token that looked fresh but is refused is
        refreshed once and tried again (as ``imap._oauth_login``)."""
        loop = asyncio.get_running_loop()
        bearer = await loop.run_in_executor(None, _blocking, account_bearer, account_id)
        try:
            await client.authenticate_xoauth2(bearer.username, bearer.token)
        except LoginError:
            if bearer.fresh:
                raise
            bearer = await loop.run_in_executor(
                None, lambda: _blocking(account_bearer, account_id, force=True, stale=bearer.token)
            )
            await client.authenticate_xoauth2(bearer.username, bearer.token)

    async def _fetch_cursor(self) -> CursorState:
        """The cursor the supervisor gave (first connection), else the stored one."""
        if self._cursor is not _UNKNOWN:
            cursor, self._cursor = self._cursor, _UNKNOWN
            return cursor
        loop = asyncio.get_running_loop()
        states = await loop.run_in_executor(None, _blocking, cursor_states, [self.target])
        return states[self.target.account_id, self.target.folder]

    def _report(self) -> None:
        logger.debug("New mail in account %s folder %s", self.target.account_id, self.target.folder)
        self.report(self.target.account_id)


class WatchSupervisor:
    """Starts, restarts and stops folder watchers as the account list changes, and writes
    the heartbeat of the accounts they hold live."""

    def __init__(
        self,
        on_new_mail: Callable[[list[int]], None],
        *,
        shard: int = 0,
        shards: int = 1,
        reload_seconds: float = 60,
        check_seconds: float = 2,
    ):
        self.shard, self.shards = shard, shards
        self.reload_seconds = reload_seconds
        self.check_seconds = min(check_seconds, reload_seconds)
        self.stamp: tuple | None = None
        self.watchers: dict[str, FolderWatcher] = {}
        self.stopping = threading.Event()
        self.warned_at = 0  # folder count of the last open-file limit warning
        self.idle_loop = shared_idle_loop()
        # Every notification goes through: queueing does not queue a fetch that is waiting
        # already, and one heard while a fetch runs needs a fetch of its own.
        self.reports = NewMailReports(on_new_mail, self.idle_loop)
        self.live: set[int] = set()  # accounts whose heartbeat this process last wrote
        self.heartbeat_at = 0.0

    def reload(self) -> None:
        close_old_connections()
        self.stamp = accounts_stamp()
        wanted = {t.fingerprint: t for t in watch_targets(self.shard, self.shards)}
        for fingerprint in list(self.watchers):
            if fingerprint not in wanted or not self.watchers[fingerprint].is_alive():
                self.watchers.pop(fingerprint).stop()
        new = [t for fingerprint, t in wanted.items() if fingerprint not in self.watchers]
        cursors = cursor_states(new) if new else {}
        close_old_connections()
        self._check_file_limit(len(wanted))
        spread = len(new) / CONNECTS_PER_SECOND if len(new) > 1 else 0
        for target in new:
            watcher = FolderWatcher(
                target,
                self.reports.report,
                cursor=cursors[target.account_id, target.folder],
                start_delay=random.uniform(0, spread),  # noqa: S311
                idle_loop=self.idle_loop,
            )
            self.watchers[target.fingerprint] = watcher
            watcher.start()

    def _check_file_limit(self, folders: int) -> None:
        """Say before it happens that the connections will not fit in the open-file limit."""
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if folders + FILES_BESIDES_CONNECTIONS > limit and folders > self.warned_at:
            self.warned_at = folders
            logger.error(
                "Watching %s folders needs an open connection, and so an open file, for each; "
                "this process may open only %s files. Raise its open-file limit (LimitNOFILE= "
                "in the systemd unit, ulimit -n in a shell) or run more watchers with --shard.",
                folders,
                limit,
            )

    def accounts_changed(self) -> bool:
        close_old_connections()
        try:
            return accounts_stamp() != self.stamp
        finally:
            close_old_connections()

    def live_accounts(self) -> set[int]:
        """Accounts with every monitored folder in IDLE right now."""
        folders_live: dict[int, bool] = {}
        for watcher in list(self.watchers.values()):
            account_id = watcher.target.account_id
            folders_live[account_id] = folders_live.get(account_id, True) and (
                watcher.connected.is_set()
            )
        return {account_id for account_id, live in folders_live.items() if live}

    def heartbeat(self, *, force: bool = False) -> None:
        """Mark accounts that went live, unmark those that dropped (at once), and renew
        every mark each ``HEARTBEAT_SECONDS``."""
        live = self.live_accounts()
        renew = force or time.monotonic() - self.heartbeat_at >= HEARTBEAT_SECONDS
        went_live = live if renew else live - self.live
        dropped = self.live - live
        if not went_live and not dropped:
            return
        close_old_connections()
        try:
            accounts_mark_watched(went_live, live=True)
            accounts_mark_watched(dropped, live=False)
        except DatabaseError as exc:  # the database is away: polls cover it, next tick again
            logger.warning("Could not write the watcher's heartbeat: %s", exc)
            return
        finally:
            close_old_connections()
        self.live = live
        if renew:
            self.heartbeat_at = time.monotonic()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.reload()
                next_reload = time.monotonic() + self.reload_seconds
                while not self.stopping.wait(self.check_seconds):
                    self.heartbeat()
                    if time.monotonic() >= next_reload or self.accounts_changed():
                        break
        finally:
            self.stop_all()

    def stop(self) -> None:
        self.stopping.set()

    def stop_all(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        for watcher in self.watchers.values():
            watcher.join(timeout=10)
        self.watchers.clear()
        if self.live:
            # polling takes these accounts over at its next run, not a few minutes later
            close_old_connections()
            try:
                accounts_mark_watched(self.live, live=False)
            finally:
                close_old_connections()
            self.live = set()
