"""The installation's figures, read from the database when asked (``/metrics``, the System
page and the samples for its charts all read them here, so they always agree).

Reading at scrape time works across every process and machine: the workers, beat and the
watchers write their state to the database (accounts' fetch health and ``watched_at``, the
journal, outgoing mail, cases) and ops only reads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils import timezone

from crm.messages import Message
from mailboxes.intake.queueing import WATCH_STALE
from mailboxes.models import Email, FolderCursor, MailAccount, RawMessage

logger = logging.getLogger(__name__)


@dataclass
class MailboxFigures:
    """One active mailbox's health, for a table row or a metric label set."""

    id: int
    name: str
    kind: str
    folders: list[str]
    last_fetch_at: datetime | None
    consecutive_failures: int
    last_error: Message
    last_error_at: datetime | None
    watched_live: bool
    fetch_queued_at: datetime | None
    quarantined: int
    folder_imported_at: dict[str, datetime | None] = field(default_factory=dict)
    folder_lag: dict[str, FolderLag] = field(default_factory=dict)
    since_fetch_seconds: float | None = None

    @property
    def lag(self) -> FolderLag:
        """The folder most behind (the mailbox's lag)."""
        return max(self.folder_lag.values(), key=lambda lag: lag.seconds, default=FolderLag(0.0))

    @property
    def lag_seconds(self) -> float:
        return self.lag.seconds

    @property
    def lag_folder(self) -> str:
        """Which folder is most behind, when the mailbox fetches several and one is."""
        if len(self.folders) < 2 or not self.lag.seconds:
            return ""
        return max(self.folder_lag, key=lambda folder: self.folder_lag[folder].seconds)

    @property
    def url(self) -> str:
        name = "group" if self.kind == MailAccount.Kind.GROUP else "personal"
        return reverse(f"mailboxes:{name}-account-detail", args=[self.id])

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0


@dataclass(frozen=True)
class FolderLag:
    """How old the oldest message of a folder that is on the server and not imported yet is
    (seconds); ``measured``: from the server's own date for it, else an upper bound."""

    seconds: float
    measured: bool = True


@dataclass(frozen=True)
class CursorFacts:
    """What a folder's fetch cursor says about its last look at the server."""

    pending_since: datetime | None
    updated_at: datetime


def mailbox_lag(
    now: datetime,
    *,
    cursor: CursorFacts | None,
    last_fetch_at: datetime | None,
    created_at: datetime,
    failing: bool,
    urgent_queued_at: datetime | None,
) -> FolderLag:
    """The lag of one folder of a mailbox, from what the fetches saw on the server:

    - a fetch left mail there (it stopped at an error, a worker died): ``now`` minus the
      INTERNALDATE of the oldest message it left, exact: that message still waits, and any
      that came later is younger; it grows while the mailbox fails;
    - the last fetch left nothing and the mailbox works: 0, or, while the IDLE watcher's fetch
      waits in the queue, the time since it was queued (the watcher heard of the mail then,
      within a second of its arrival);
    - the mailbox fails and the last look left nothing: anything that arrived since that look
      may wait, an upper bound;
    - the server was never reached for the folder: the same bound from the last fetch of the
      account, or since it was added.

    Between two polls of a mailbox nobody watches, mail that arrived after the last look is
    not known yet (``postaci_mailbox_seconds_since_fetch`` says how old the look is).
    """
    if cursor is not None and cursor.pending_since is not None:
        return FolderLag(_seconds(now, cursor.pending_since))
    if cursor is None:
        return FolderLag(_seconds(now, last_fetch_at or created_at), measured=False)
    if failing:
        looked_at = max(cursor.updated_at, last_fetch_at or cursor.updated_at)
        return FolderLag(_seconds(now, looked_at), measured=False)
    if urgent_queued_at is not None:
        return FolderLag(_seconds(now, urgent_queued_at))
    return FolderLag(0.0)


def _seconds(now: datetime, since: datetime) -> float:
    return max((now - since).total_seconds(), 0.0)


def mailboxes_figures(now: datetime | None = None) -> list[MailboxFigures]:
    """Every active account that fetches mail, most behind first."""
    now = now or timezone.now()
    accounts = MailAccount.objects.filter(status=MailAccount.Status.ACTIVE, use_imap=True).values(
        "id",
        "name",
        "kind",
        "monitored_folders",
        "last_fetch_at",
        "consecutive_failures",
        "last_error",
        "last_error_at",
        "watched_at",
        "fetch_queued_at",
        "fetch_queued_urgent",
        "created_at",
    )
    quarantined = dict(
        RawMessage.objects.filter(status=RawMessage.Status.QUARANTINED)
        .values_list("account_id")
        .annotate(n=Count("id"))
    )
    cursors: dict[int, dict[str, CursorFacts]] = {}
    for account_id, folder, updated, pending_since in FolderCursor.objects.values_list(
        "account_id", "folder", "updated_at", "pending_since"
    ):
        cursors.setdefault(account_id, {})[folder] = CursorFacts(pending_since, updated)
    rows = []
    for row in accounts:
        live = row["watched_at"] is not None and row["watched_at"] >= now - WATCH_STALE
        folders = list(row["monitored_folders"] or ["INBOX"])
        figures = MailboxFigures(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            folders=folders,
            last_fetch_at=row["last_fetch_at"],
            consecutive_failures=row["consecutive_failures"],
            last_error=Message.coerce(row["last_error"]),
            last_error_at=row["last_error_at"],
            watched_live=live,
            fetch_queued_at=row["fetch_queued_at"],
            quarantined=quarantined.get(row["id"], 0),
        )
        urgent_queued_at = row["fetch_queued_at"] if row["fetch_queued_urgent"] else None
        for folder in folders:
            cursor = cursors.get(row["id"], {}).get(folder)
            figures.folder_imported_at[folder] = cursor.updated_at if cursor else None
            figures.folder_lag[folder] = mailbox_lag(
                now,
                cursor=cursor,
                last_fetch_at=row["last_fetch_at"],
                created_at=row["created_at"],
                failing=figures.failing,
                urgent_queued_at=urgent_queued_at,
            )
        if row["last_fetch_at"] is not None:
            figures.since_fetch_seconds = max((now - row["last_fetch_at"]).total_seconds(), 0.0)
        rows.append(figures)
    rows.sort(key=lambda figures: (-figures.lag_seconds, figures.name.lower()))
    return rows


def outgoing_counts() -> dict[str, int]:
    """Emails written in Postaci by sending state: ``sending`` is the send queue."""
    counts = dict(
        Email.objects.filter(
            status__in=[Email.Status.SENDING, Email.Status.SENT, Email.Status.FAILED]
        )
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return {status: counts.get(status, 0) for status in ("sending", "sent", "failed")}


def auto_reply_counts() -> dict[tuple[str, str], int]:
    """Auto-reply decisions by outcome and reason code (the loop guard's reasons)."""
    from cases.models import AutoReplyLog

    counts: dict[tuple[str, str], int] = {}
    for outcome, code, n in (
        AutoReplyLog.objects.annotate(code=KT("reason__code"))
        .values_list("outcome", "code")
        .annotate(n=Count("id"))
        .order_by()
    ):
        key = (outcome, code or "")
        counts[key] = counts.get(key, 0) + n
    return counts


def case_counts_by_team() -> dict[str, dict[str, int]]:
    """Cases per team: ``opened`` (all there are) and ``assigned`` (that have an assignee)."""
    from cases.models import Case

    through = Case.teams.through
    teams: dict[str, dict[str, int]] = {}
    for name, opened, assigned in (
        through.objects.values_list("team__name")
        .annotate(
            opened=Count("case_id"),
            assigned=Count("case_id", filter=Q(case__assigned_user__isnull=False)),
        )
        .order_by()
    ):
        teams[name] = {"opened": opened, "assigned": assigned}
    return teams


def celery_queue_lengths() -> dict[str, int | None]:
    """Messages waiting in each Celery queue (Redis: LLEN of the queue's lists); None when
    the broker cannot be reached."""
    from django.conf import settings

    from config.celery import app

    names = list(settings.CELERY_TASK_QUEUES)
    lengths: dict[str, int | None] = dict.fromkeys(names)
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            channel = conn.default_channel
            for name in names:
                try:
                    lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:  # never declared (no message yet): empty
                    channel = conn.channel()
                    lengths[name] = 0
    except Exception as exc:
        logger.warning("Could not read the Celery queue lengths: %s", type(exc).__name__)
    return lengths


def jobs_figures() -> list[dict]:
    """The scheduled jobs with their last run."""
    from django_celery_beat.models import PeriodicTask

    return list(
        PeriodicTask.objects.order_by("name").values(
            "id", "name", "task", "enabled", "last_run_at", "total_run_count"
        )
    )
