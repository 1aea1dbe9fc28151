"""Steps 1 and 2: fetch new messages from IMAP, journal them, and run each through the pipeline.

Per account and folder a cursor ``(uidvalidity, last_uid)`` says where fetching stands. A
batch is fetched (sizes — and headers when header-only filters exist — first, then bodies),
journaled, processed message by message in savepoints, and committed together with the
cursor. ``\\Seen`` is set on the server only after the commit. A crash anywhere therefore
leaves either nothing (the batch is fetched again) or everything (cursor past the batch).

The steps and the hooks other apps provide (``prepare_run``, ``headers_skip``,
``after_batch``) are listed, in order, in ``mailboxes.intake.pipeline``; this module calls
them through it.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.fixed_offset import FixedOffset

from crm.messages import Message
from mailboxes.connection.imap import connection_error, imap_session
from mailboxes.exceptions import MailError
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.health import account_record_failure, account_record_success
from mailboxes.intake.journal import (
    FetchedMessage,
    journal_batch,
    journal_note_skipped,
    journal_write,
    raw_from_archive,
)
from mailboxes.intake.locking import account_fetch_lock
from mailboxes.intake.parse import parse_message
from mailboxes.intake.pipeline import (
    hook_after_batch,
    hook_headers_skip,
    hook_prepare_run,
    run_steps,
)
from mailboxes.intake.store import forget_run_caches
from mailboxes.messages import (
    FETCH_ACCOUNT_GONE,
    FETCH_CRASHED,
    FETCH_FOLDER_FAILED,
    IMPORT_FAILED,
    errors_message,
)
from mailboxes.models import FolderCursor, MailAccount, RawMessage
from mailboxes.models.accounts import mail_account_load

logger = logging.getLogger(__name__)

SEEN = b"\\Seen"
# Up to this many UIDs between the cursor and UIDNEXT are asked for by number (one FETCH of
# their sizes), more by a SEARCH first.
MAX_UIDS_WITHOUT_SEARCH = 200
# Up to this many new UIDs, the FETCH of their sizes also asks when the server received each
# (INTERNALDATE, for the lag: FolderCursor.pending_since); for more, one more FETCH asks it of
# the first message of each batch only. Parsing a date costs IMAPClient twice the rest of
# the line (0.1 - 0.2 ms a message at load 13 - 16), which a backfill of 100,000 would feel.
MAX_UIDS_WITH_DATES = 200


@dataclass
class FetchSummary:
    """What one fetch did; printed by ``fetchmail`` and returned by the task."""

    account_id: int
    fetched: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    quarantined: int = 0
    locked: bool = False
    errors: list[Message] = field(default_factory=list)

    def add(self, other: FetchSummary) -> None:
        for name in ("fetched", "imported", "duplicates", "skipped", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors

    def line(self) -> str:
        text = _(
            "fetched %(fetched)d, imported %(imported)d, duplicates %(duplicates)d, "
            "skipped %(skipped)d, quarantined %(quarantined)d"
        ) % asdict(self)
        if self.locked:
            text += " " + _("(another fetch of this account was running)")
        if self.errors:
            text += " — " + "; ".join(str(error) for error in self.errors)
        return text

    def as_dict(self) -> dict:
        """Plain values (a task's result): the errors as sentences in the active language."""
        return asdict(self) | {"errors": [str(error) for error in self.errors]}


ProgressCallback = Callable[[str, int], None]  # ("total"|"advance", n)


@contextlib.contextmanager
def objects_before_run_frozen() -> Iterator[None]:
    """Keep the garbage collector's full collections off what the process held before the
    run (Django, the models, the settings: some 150,000 objects in a fetch process).

    A batch of 200 messages allocates enough for a full collection or two per run, and each
    walked them all: 0.13 - 0.18 s of a 1,000-message fetch's 0.9 s of CPU (bench/intake.py,
    gc callbacks). Frozen for the run, a collection walks only what the run made; unfrozen
    after it, they are collected again as before (a worker's later tasks lose nothing). A
    process that froze its start-up itself (config/wsgi.py) is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_prepare(account: MailAccount, *, notify: bool) -> FetchRun:
    """A new fetch run of ``account``, with what the apps attach to it (hook prepare_run)."""
    return hook_prepare_run(FetchRun(account=account, notify=notify))


def fetch_account(
    account_id: int,
    *,
    notify: bool | None = None,
    progress: ProgressCallback | None = None,
    urgent: bool = False,
) -> FetchSummary:
    """Fetch every monitored folder of one account, once at a time across all workers.

    ``notify=None`` notifies except on the account's first fetch (a backfill of history).
    ``urgent``: somebody heard of new mail (the IDLE watcher, "Fetch now"), so each folder is
    SELECTed straight away; a poll first asks STATUS, which for an idle folder is all it does.
    Connection problems are recorded on the account (and retried later with back-off); they
    never raise, so one broken mailbox cannot stop a poll of the others.
    """
    summary = FetchSummary(account_id=account_id)
    account = mail_account_load(account_id)
    if account is None:
        summary.errors.append(FETCH_ACCOUNT_GONE())
        return summary
    with account_fetch_lock(account.pk) as acquired:
        if not acquired:
            summary.locked = True
            return summary
        cursors = {c.folder: c for c in FolderCursor.objects.filter(account_id=account.pk)}
        if notify is None:
            notify = bool(cursors)
        run = None  # prepared when a folder has mail: an idle poll loads no filters
        try:
            with objects_before_run_frozen(), imap_session(account) as client:
                for folder in account.monitored_folders or ["INBOX"]:
                    try:
                        if not urgent and folder_unchanged(client, folder, cursors.get(folder)):
                            continue
                        run = run or run_prepare(account, notify=notify)
                        folder_summary = fetch_folder(
                            client, run, folder, progress=progress, cursor=cursors.get(folder)
                        )
                    except IMAPClientError as exc:
                        summary.errors.append(
                            FETCH_FOLDER_FAILED(folder=folder, error=str(exc) or repr(exc))
                        )
                        continue
                    summary.add(folder_summary)
        except MailError as exc:
            summary.errors.append(exc.message)
        except (OSError, IMAPClientError) as exc:
            summary.errors.append(connection_error(exc, account.imap_host).message)
        except Exception as exc:
            account_record_failure(account, FETCH_CRASHED(error=f"{type(exc).__name__}: {exc}"))
            raise
    if summary.errors:
        account_record_failure(account, errors_message(summary.errors))
    else:
        account_record_success(account)
    return summary


def folder_unchanged(client: IMAPClient, folder: str, cursor: FolderCursor | None) -> bool:
    """Whether one STATUS shows nothing past the cursor: an idle poll of the folder, with no
    SELECT, no SEARCH and no message data."""
    if cursor is None or cursor.uidvalidity is None:
        return False
    status = client.folder_status(folder, [b"UIDNEXT", b"UIDVALIDITY"])
    uidnext = status.get(b"UIDNEXT")
    return (
        int(status.get(b"UIDVALIDITY", -1)) == cursor.uidvalidity
        and uidnext is not None
        and uidnext <= cursor.last_uid + 1
    )


def _search_criteria(account: MailAccount, cursor: FolderCursor) -> list:
    """What to search for when the cursor is new or no longer valid (UIDVALIDITY changed): a
    date window, or everything."""
    since = None
    if cursor.uidvalidity is not None and cursor.last_date:
        # Catch up after UIDVALIDITY changed; Message-ID de-duplication absorbs the overlap.
        since = (cursor.last_date - timedelta(days=1)).date()
    elif account.fetch_since:
        since = account.fetch_since
    return ["SINCE", since] if since else ["ALL"]


def fetch_folder(
    client: IMAPClient,
    run: FetchRun,
    folder: str,
    *,
    progress: ProgressCallback | None = None,
    cursor: FolderCursor | None = None,
) -> FetchSummary:
    """Fetch one folder from its cursor onwards, batch by batch (``cursor``: the folder's,
    when the caller has loaded it already)."""
    account = run.account
    summary = FetchSummary(account_id=account.pk)
    status = client.select_folder(folder)
    uidvalidity = int(status[b"UIDVALIDITY"])
    uidnext = status.get(b"UIDNEXT")
    if cursor is None:
        cursor, _created = FolderCursor.objects.get_or_create(account_id=account.pk, folder=folder)

    if cursor.uidvalidity == uidvalidity and uidnext is not None and uidnext <= cursor.last_uid + 1:
        return summary  # nothing new: one SELECT, no message data

    if (
        cursor.uidvalidity == uidvalidity
        and uidnext is not None
        and uidnext - cursor.last_uid <= MAX_UIDS_WITHOUT_SEARCH
    ):
        # A few UIDs between the cursor and UIDNEXT (mail the watcher heard of): what they
        # hold and how large in one FETCH of those UIDs, no SEARCH (UIDs nobody holds, such
        # as expunged ones, are left out of the answer).
        sizes, dates = message_sizes_and_dates(client, list(range(cursor.last_uid + 1, uidnext)))
        uids = sorted(sizes)
    elif cursor.uidvalidity == uidvalidity:
        uids = sorted(client.search(["UID", f"{cursor.last_uid + 1}:*"]))
        uids = [uid for uid in uids if uid > cursor.last_uid]
        sizes, dates = message_sizes_and_dates(client, uids, dates=len(uids) <= MAX_UIDS_WITH_DATES)
    else:
        uids = sorted(client.search(_search_criteria(account, cursor)))
        # New cursor or new UIDVALIDITY: start over in this validity epoch.
        cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        if not uids:
            cursor.pending_since = None
            cursor.save(update_fields=["uidvalidity", "last_uid", "pending_since", "updated_at"])
        sizes, dates = message_sizes_and_dates(client, uids, dates=len(uids) <= MAX_UIDS_WITH_DATES)
    if progress and uids:
        progress("total", len(uids))

    batches = fetch_batches(uids, sizes)
    if len(uids) > MAX_UIDS_WITH_DATES:
        dates = message_sizes_and_dates(client, [batch[0] for batch in batches], sizes=False)[1]
    waiting = oldest_dates_from(uids, dates)
    try:
        for batch in batches:
            # what this batch leaves on the server, saved with its cursor (fetch_batch)
            cursor.pending_since = waiting[bisect.bisect_right(uids, batch[-1])]
            summary.add(fetch_batch(client, run, folder, cursor, batch, sizes))
            if progress:
                progress("advance", len(batch))
    except Exception:
        cursor_note_pending(cursor, waiting[bisect.bisect_right(uids, cursor.last_uid)])
        raise
    fields = []
    if uidnext is not None and cursor.uidvalidity == uidvalidity and cursor.last_uid < uidnext - 1:
        # Every UID below UIDNEXT is behind us (fetched, or expunged before we looked): the
        # next fetch, and the IDLE watcher after a reconnect, see "nothing new" from UIDNEXT.
        cursor.last_uid = uidnext - 1
        fields.append("last_uid")
    if cursor.pending_since is not None:  # no batch ran: what a failed fetch left is gone
        cursor.pending_since = None
        fields.append("pending_since")
    if fields:
        cursor.save(update_fields=[*fields, "updated_at"])
    return summary


def message_sizes_and_dates(
    client: IMAPClient, uids: list[int], *, sizes: bool = True, dates: bool = True
) -> tuple[dict[int, int], dict[int, datetime]]:
    """Each message's size (RFC822.SIZE) and when the server received it (INTERNALDATE), one
    FETCH per thousand new UIDs (a command line stays well under the servers' limits); a
    message expunged meanwhile is missing. The dates measure how long mail left on the
    server waits (``FolderCursor.pending_since``), asked with the sizes: no extra round trip."""
    items = [b"RFC822.SIZE"] * sizes + [b"INTERNALDATE"] * dates
    found_sizes: dict[int, int] = {}
    found_dates: dict[int, datetime] = {}
    for start in range(0, len(uids), 1000):
        answer = client.fetch(uids[start : start + 1000], items)
        for uid, data in answer.items():
            if sizes:
                found_sizes[uid] = int(data.get(b"RFC822.SIZE", 0))
            received = data.get(b"INTERNALDATE")
            if received is not None:
                if received.tzinfo is None:  # IMAPClient gives local time at today's offset
                    received = received.replace(tzinfo=FixedOffset.for_system())
                found_dates[uid] = received
    return found_sizes, found_dates


def message_sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    """Each message's size (RFC822.SIZE); see ``message_sizes_and_dates``."""
    return message_sizes_and_dates(client, uids, dates=False)[0]


def oldest_dates_from(uids: list[int], dates: dict[int, datetime]) -> list[datetime | None]:
    """For each position in ``uids`` (and one past the end), the oldest INTERNALDATE of the
    messages from there on: what is left waiting when a fetch stops at that position."""
    oldest: list[datetime | None] = [None] * (len(uids) + 1)
    for position in range(len(uids) - 1, -1, -1):
        date, after = dates.get(uids[position]), oldest[position + 1]
        oldest[position] = after if date is None or (after is not None and after < date) else date
    return oldest


def cursor_note_pending(cursor: FolderCursor, pending_since: datetime | None) -> None:
    """A fetch stopped before the end of the folder: keep when the oldest message it left was
    received (best effort; the fetch's own error is what the caller reports)."""
    cursor.pending_since = pending_since
    if cursor.pk is None:
        return
    try:
        FolderCursor.objects.filter(pk=cursor.pk).update(pending_since=pending_since)
    except DatabaseError as exc:
        logger.warning("Could not note what fetching %s left on the server: %s", cursor, exc)


def fetch_batches(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    """The UIDs in batches of at most ``POSTACI_FETCH_BATCH_SIZE`` messages and, together,
    ``POSTACI_FETCH_BATCH_BYTES`` of bodies to download (a larger message alone), so a batch
    of large attachments does not hold the whole batch in memory at once. A message over
    ``POSTACI_MAX_MESSAGE_SIZE`` brings its headers only and counts for nothing."""
    count = max(1, settings.POSTACI_FETCH_BATCH_SIZE)
    budget = max(1, settings.POSTACI_FETCH_BATCH_BYTES)
    max_size = settings.POSTACI_MAX_MESSAGE_SIZE
    batches: list[list[int]] = []
    batch: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        size = 0 if size > max_size else size
        if batch and (len(batch) >= count or held + size > budget):
            batches.append(batch)
            batch, held = [], 0
        batch.append(uid)
        held += size
    if batch:
        batches.append(batch)
    return batches


def _download(
    client: IMAPClient, run: FetchRun, uids: list[int], sizes: dict[int, int] | None = None
) -> list[FetchedMessage]:
    """Bodies of the messages that are kept and within the size limit; headers only for the
    rest. Which messages are too large their sizes say (``message_sizes``); headers are
    fetched first only when a header-only filter could skip a message (so its body is never
    downloaded)."""
    max_size = settings.POSTACI_MAX_MESSAGE_SIZE
    if sizes is None:
        sizes = message_sizes(client, uids)
    too_large = {uid for uid in uids if sizes.get(uid, 0) > max_size}
    header_skip = hook_headers_skip(run)
    fetched: dict[int, FetchedMessage] = {}
    if header_skip is not None:
        for uid, data in client.fetch(uids, [b"BODY.PEEK[HEADER]"]).items():
            header_bytes = data.get(b"BODY[HEADER]") or b""
            parsed = parse_message(header_bytes, headers_only=True)
            skipping = header_skip(parsed)  # the filter (label, id) or None
            if skipping is not None or uid in too_large:
                fetched[uid] = FetchedMessage(
                    uid=uid,
                    raw=header_bytes,
                    headers_only=True,
                    skipped_by=skipping.label if skipping else "",
                    skip_filter_id=skipping.id if skipping else None,
                    parsed=parsed if skipping else None,
                )
    elif too_large & set(uids):
        wanted = sorted(too_large & set(uids))
        for uid, data in client.fetch(wanted, [b"BODY.PEEK[HEADER]"]).items():
            fetched[uid] = FetchedMessage(
                uid=uid,
                raw=data.get(b"BODY[HEADER]") or b"",
                headers_only=True,
            )
    need_body = [uid for uid in uids if uid not in fetched and uid not in too_large]
    if need_body:
        for uid, data in client.fetch(need_body, [b"BODY.PEEK[]"]).items():
            fetched[uid] = FetchedMessage(uid=uid, raw=data.get(b"BODY[]") or b"")
    # UIDs missing from the answers were expunged meanwhile: there is nothing to import.
    return [fetched[uid] for uid in sorted(fetched)]


def fetch_batch(
    client: IMAPClient,
    run: FetchRun,
    folder: str,
    cursor: FolderCursor,
    uids: list[int],
    sizes: dict[int, int] | None = None,
) -> FetchSummary:
    """Download, journal and process one batch; commit it with the cursor; then set \\Seen."""
    summary = FetchSummary(account_id=run.account.pk)
    items = _download(client, run, uids, sizes)
    summary.fetched = len(items)
    with transaction.atomic():
        batch = journal_and_process(run, folder, cursor.uidvalidity, items)
        summary.skipped += len(batch.raws) - len(batch.pending)
        for outcome in batch.outcomes:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        cursor.last_uid = max([cursor.last_uid, *uids])
        # When the folder's UIDVALIDITY changes, fetching resumes SINCE a day before this.
        cursor.last_date = timezone.now()
        cursor.save(
            update_fields=["uidvalidity", "last_uid", "last_date", "pending_since", "updated_at"]
        )
    hook_after_batch(run)
    seen_uids = [
        raw.uid
        for raw in batch.pending
        if raw.status in (RawMessage.Status.IMPORTED, RawMessage.Status.DUPLICATE)
    ]
    if seen_uids and not run.account.keep_fetched_unread:
        try:
            client.add_flags(seen_uids, [SEEN], silent=True)
        except IMAPClientError as exc:  # flags are cosmetic; the mail is safely imported
            logger.warning("Could not set \\Seen on %s/%s: %s", run.account.pk, folder, exc)
    return summary


@dataclass
class JournaledBatch:
    """A downloaded batch after ``journal_and_process``."""

    raws: list[RawMessage]  # every message's journal row
    pending: list[RawMessage]  # the rows that went through the pipeline steps
    outcomes: list[str]  # each pending row's summary counter ("imported", ...)


def journal_and_process(
    run: FetchRun, folder: str, uidvalidity: int, items: list[FetchedMessage]
) -> JournaledBatch:
    """Journal a downloaded batch, run its pending messages through the pipeline, and write
    the journal rows with their outcomes; the caller owns the transaction."""
    raws = journal_batch(run.account, folder, uidvalidity, items)
    pending = [raw for raw in raws if raw.status == RawMessage.Status.PENDING]
    outcomes = process_batch(run, pending)
    journal_write(raws)
    return JournaledBatch(raws=raws, pending=pending, outcomes=outcomes)


def steps_garbage_collect() -> None:
    """Free what the steps of a batch left in reference cycles, before the journal's bytes
    are copied out to the database (``process_batch`` calls it, for a fetch and an archive
    import alike).

    Django keeps an exception in a local while it resolves a lookup through a JSON key
    (``Query.setup_joins``, as ``users_access`` asks of role permissions): the exception's
    traceback holds that frame and the frame the exception, and each frame its caller, so
    the steps' frames (the batch, its parsed messages and decoded attachments) outlive them
    until a full collection, which a fetch may not run at all. For one 25 MB message that
    was its 18 MB attachment at the fetch's peak (bench/memory.py). A collection walks only
    what the run made (``objects_before_run_frozen``)."""
    gc.collect()


def process_batch(run: FetchRun, raws: list[RawMessage]) -> list[str]:
    """Run journaled messages through the pipeline; return each one's summary counter.

    The whole batch goes through the steps at once, in one savepoint, so the database work
    is a few bulk statements. If anything fails, that savepoint is rolled back and every
    message runs alone in a savepoint of its own: the bad one is quarantined, the others are
    imported exactly as in the fast path.
    """
    if not raws:
        return []
    outcomes = _batch_outcomes(run, raws)
    steps_garbage_collect()
    return outcomes


def _batch_outcomes(run: FetchRun, raws: list[RawMessage]) -> list[str]:
    if len(raws) > 1:
        contexts = [IntakeContext(run=run, folder=raw.folder, raw=raw) for raw in raws]
        try:
            with transaction.atomic():
                run_steps(contexts)
                for ctx in contexts:
                    for callback in ctx.after_commit:
                        transaction.on_commit(callback)
        except Exception:
            forget_run_caches(run)
        else:
            return [_record_outcome(ctx) for ctx in contexts]
    return [process_raw_message(run, raw) for raw in raws]


def process_raw_message(run: FetchRun, raw: RawMessage) -> str:
    """Run one journaled message through the pipeline in a savepoint of its own.

    Any failure rolls back only this message, which is quarantined with its error; a
    unique-constraint race (the same Message-ID imported at this moment through another
    account) is retried once and then finds the existing Email.
    """
    for attempt in (1, 2):
        ctx = IntakeContext(run=run, folder=raw.folder, raw=raw)
        try:
            with transaction.atomic():
                run_steps([ctx])
                for callback in ctx.after_commit:
                    transaction.on_commit(callback)
        except IntegrityError as exc:
            forget_run_caches(run)
            if attempt == 1:
                continue
            return _quarantine(raw, exc)
        except Exception as exc:  # one bad message must not spoil the batch
            forget_run_caches(run)
            return _quarantine(raw, exc)
        break
    return _record_outcome(ctx)


def _record_outcome(ctx: IntakeContext) -> str:
    raw = ctx.raw
    raw.processed_at = timezone.now()
    raw.error = raw.traceback = ""
    raw.message_id = ctx.parsed.message_id if ctx.parsed else ""
    if ctx.skipped_by:
        journal_note_skipped(
            raw, label=ctx.skipped_by, filter_id=ctx.skip_filter_id, parsed=ctx.parsed
        )
        return "skipped"
    raw.email = ctx.email
    if ctx.is_new_email:
        raw.status = RawMessage.Status.IMPORTED
        return "imported"
    raw.status = RawMessage.Status.DUPLICATE
    return "duplicates"


def _quarantine(raw: RawMessage, exc: BaseException) -> str:
    logger.exception("Message %s quarantined", raw)
    raw.status = RawMessage.Status.QUARANTINED
    raw.error = IMPORT_FAILED(error=f"{type(exc).__name__}: {exc}"[:2000])
    raw.traceback = "".join(traceback.format_exception(exc))[-20000:]
    raw.processed_at = timezone.now()
    return "quarantined"


def run_for_stored(raw: RawMessage, account: MailAccount, *, notify: bool) -> FetchRun:
    """A run that processes a journaled message again (retry, import anyway) as its first
    processing would have: one from an archive is history (nobody told) and opens cases
    only if its import asked for them."""
    archived = raw_from_archive(raw)
    run = run_prepare(account, notify=notify and not archived)
    if archived:
        run.cases = bool(raw.mail_import_id and raw.mail_import.open_cases)
    return run


def raw_message_retry(raw: RawMessage, *, notify: bool = True) -> str:
    """Retry a quarantined message: the same processing a first-time success gets."""
    run = run_for_stored(raw, raw.account.specific, notify=notify)
    with transaction.atomic():
        raw = RawMessage.objects.select_for_update().get(pk=raw.pk)
        if raw.status != RawMessage.Status.QUARANTINED:
            return raw.status
        raw.attempts += 1
        outcome = process_raw_message(run, raw)
        raw.save()
    hook_after_batch(run)
    return outcome


class SkippedMessageGone(MailError):
    """The server no longer has the body of a skipped message stored with its headers only."""

    code = "gone"
    default_message = _(
        "The server no longer has this message (deleted, or its folder was recreated), and only "
        "its headers were kept."
    )


class AccountBusy(MailError):
    code = "busy"
    default_message = _("A fetch of this account is running; try again in a moment.")


def _download_body(account: MailAccount, raw: RawMessage) -> bytes | None:
    """The whole message behind a headers-only journal row, or None when it is larger than
    the size limit (it is then imported with its headers, as a fetch would)."""
    if raw_from_archive(raw):
        return None  # an archive's message over the size limit: its headers were all it kept
    with imap_session(account) as client:
        status = client.select_folder(raw.folder, readonly=True)
        if int(status[b"UIDVALIDITY"]) != raw.uidvalidity:
            raise SkippedMessageGone
        sizes = client.fetch([raw.uid], [b"RFC822.SIZE"]).get(raw.uid)
        if not sizes:
            raise SkippedMessageGone
        if sizes.get(b"RFC822.SIZE", 0) > settings.POSTACI_MAX_MESSAGE_SIZE:
            return None
        data = client.fetch([raw.uid], [b"BODY.PEEK[]"]).get(raw.uid) or {}
        if not data.get(b"BODY[]"):
            raise SkippedMessageGone
        return data[b"BODY[]"]


def raw_message_import_anyway(raw_id: int, *, notify: bool = True) -> str:
    """Import a message a filter skipped ("import it anyway"), with no filter skipping it
    again; return the outcome (``imported``, ``duplicates``, ``quarantined``) or, when
    somebody else was quicker, the row's status.

    Exactly once: the journal row (unique on account, folder, UIDVALIDITY, UID) is the one
    the fetch wrote, locked and checked to be still ``skipped`` in the transaction that
    imports it; the account's fetch lock keeps a fetch (after "reset fetch cursor") from
    re-journaling the same UID meanwhile; the folder's cursor is already past the message and
    stays. A row kept with headers only gets its body from the server first (outside the
    transaction). Raises ``MailError`` when the server cannot give the body.
    """
    raw = RawMessage.objects.select_related("account").defer("raw").get(pk=raw_id)
    if raw.status != RawMessage.Status.SKIPPED:
        return raw.status
    account = raw.account.specific
    with account_fetch_lock(account.pk, wait=10) as acquired:
        if not acquired:
            raise AccountBusy
        body = None
        if raw.headers_only:
            try:
                body = _download_body(account, raw)
            except (OSError, IMAPClientError) as exc:
                raise connection_error(exc, account.imap_host) from exc
        run = run_for_stored(raw, account, notify=notify)
        run.filters_may_skip = False
        with transaction.atomic():
            raw = RawMessage.objects.select_for_update().get(pk=raw_id)
            if raw.status != RawMessage.Status.SKIPPED:
                return raw.status
            if body is not None:
                raw.raw, raw.headers_only = body, False
                raw.size, raw.sha256 = len(body), hashlib.sha256(body).hexdigest()
            raw.status = RawMessage.Status.PENDING
            outcome = process_raw_message(run, raw)
            raw.save()
        hook_after_batch(run)
    return outcome
