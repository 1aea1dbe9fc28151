"""IMAP IDLE: hear about new mail the moment the server has it, and enqueue a fetch.

One thread per (account, monitored folder) keeps an IDLE connection (IDLE watches the
selected folder only). It re-issues IDLE before the 29-minute limit of RFC 2177, reconnects
with back-off after any error. The supervisor picks up new, changed, deactivated and deleted
accounts within seconds: every ``check_seconds`` it reads a stamp of the account table (count,
highest id, latest ``modified_at``: one aggregate query on a small table) and reloads when the
stamp changes, so saving an account anywhere (web, Django admin, shell, another machine) wakes
every watcher process on every machine through the database they share, on SQLite as on
PostgreSQL, with no extra service. A full reload every ``reload_seconds`` also catches changes
written by queryset ``update()``, which do not touch ``modified_at``. Polling by Celery beat
stays the fallback: a missed notification only delays mail until the next poll.
"""

from __future__ import annotations

import hashlib
import logging
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections
from django.db.models import Count, Max
from imapclient.exceptions import IMAPClientError

from mailboxes.connection.imap import ImapSettings, connection_error, imap_close, imap_connect
from mailboxes.exceptions import MailError
from mailboxes.intake.health import oauth_signed_out
from mailboxes.models import MailAccount

logger = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 25 * 60
IDLE_CHECK_SECONDS = 5
MAX_BACKOFF_SECONDS = 300
NEW_MAIL_MARKERS = (b"EXISTS", b"RECENT")
# files a watcher process holds besides its IMAP connections: database, broker, logs, libraries
FILES_BESIDES_CONNECTIONS = 64


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


class FolderWatcher(threading.Thread):
    """Keeps one IDLE connection open and calls ``on_new_mail(account_id)``."""

    def __init__(self, target: WatchTarget, on_new_mail: Callable[[int], None]):
        super().__init__(name=f"idle-{target.account_id}-{target.folder}", daemon=True)
        self.target = target
        self.on_new_mail = on_new_mail
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.failures = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._watch_once()
                self.failures = 0
            except (MailError, OSError, IMAPClientError) as exc:
                self.connected.clear()
                self.failures += 1
                delay = min(2**self.failures, MAX_BACKOFF_SECONDS)
                problem = exc if isinstance(exc, MailError) else connection_error(exc, "")
                # out of file descriptors is this machine's problem: said as such, loudly
                log = logger.error if problem.code == "local_limit" else logger.warning
                log(
                    "IDLE on account %s folder %s failed (%s); retrying in %ss",
                    self.target.account_id,
                    self.target.folder,
                    problem,
                    delay,
                )
                self.stopping.wait(delay)

    def _watch_once(self) -> None:
        client = imap_connect(self.target.imap)
        try:
            if not client.has_capability("IDLE"):
                logger.info("Account %s has no IDLE; polling covers it", self.target.account_id)
                self.stopping.wait(IDLE_RENEW_SECONDS)
                return
            client.select_folder(self.target.folder, readonly=True)
            # Mail that arrived while nobody was watching.
            self.on_new_mail(self.target.account_id)
            while not self.stopping.is_set():
                client.idle()
                self.connected.set()
                started = time.monotonic()
                new_mail = False
                while not self.stopping.is_set():
                    responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                    if any(len(r) > 1 and r[1] in NEW_MAIL_MARKERS for r in responses):
                        new_mail = True
                        break
                    if time.monotonic() - started > IDLE_RENEW_SECONDS:
                        break
                client.idle_done()
                if new_mail:
                    self.on_new_mail(self.target.account_id)
        finally:
            self.connected.clear()
            imap_close(client)


class Debouncer:
    """Call ``action(account_id)`` at most once per ``seconds`` per account."""

    def __init__(self, action: Callable[[int], None], seconds: float = 2.0):
        self.action = action
        self.seconds = seconds
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, account_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(account_id, -1e9) < self.seconds:
                return
            self._last[account_id] = now
        self.action(account_id)


class WatchSupervisor:
    """Starts, restarts and stops folder watchers as the account list changes."""

    def __init__(
        self,
        on_new_mail: Callable[[int], None],
        *,
        shard: int = 0,
        shards: int = 1,
        reload_seconds: float = 60,
        check_seconds: float = 2,
    ):
        self.on_new_mail = Debouncer(on_new_mail)
        self.shard, self.shards = shard, shards
        self.reload_seconds = reload_seconds
        self.check_seconds = min(check_seconds, reload_seconds)
        self.stamp: tuple | None = None
        self.watchers: dict[str, FolderWatcher] = {}
        self.stopping = threading.Event()
        self.warned_at = 0  # folder count of the last open-file limit warning

    def reload(self) -> None:
        close_old_connections()
        self.stamp = accounts_stamp()
        wanted = {t.fingerprint: t for t in watch_targets(self.shard, self.shards)}
        close_old_connections()
        self._check_file_limit(len(wanted))
        for fingerprint in list(self.watchers):
            if fingerprint not in wanted:
                self.watchers.pop(fingerprint).stop()
        for fingerprint, target in wanted.items():
            if fingerprint not in self.watchers:
                watcher = FolderWatcher(target, self.on_new_mail)
                self.watchers[fingerprint] = watcher
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

    def run(self) -> None:
        while not self.stopping.is_set():
            self.reload()
            next_reload = time.monotonic() + self.reload_seconds
            while not self.stopping.wait(self.check_seconds):
                if time.monotonic() >= next_reload or self.accounts_changed():
                    break
        self.stop_all()

    def stop(self) -> None:
        self.stopping.set()

    def stop_all(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        for watcher in self.watchers.values():
            watcher.join(timeout=IDLE_CHECK_SECONDS + 2)
        self.watchers.clear()
