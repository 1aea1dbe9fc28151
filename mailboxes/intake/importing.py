"""Importing archives: an ``.mbox`` or ``.eml`` file into one mail account, through the very
pipeline fetched mail takes (journal, the steps of pipeline.py, quarantine), as history.

- *History*: the run has ``notify=False`` (``run_is_history``): filters and linking run,
  nobody is notified, nothing is auto-replied, no webhook hears of it; cases only when the
  import asks for them (``MailImport.open_cases``, ``run_opens_cases``).
- *Journaled and resumable*: each message gets a ``RawMessage`` row whose source is the import
  (folder "", ``uidvalidity`` = the import's id, ``uid`` = the message's place in the file),
  written in the transaction of its batch together with the import's ``position`` (bytes of
  the file done). A worker killed mid-import resumes after the last committed batch.
- *Never twice*: a message whose exact bytes the account's journal already holds (an earlier
  import of the same archive, or the same file twice in one) gets no new row and counts as
  it counted then; others are de-duplicated by Message-ID by the store step, a message
  without one by the fingerprint of its content (parse.py).
- *Streamed*: the file is read a line at a time (lines cut at 64 kB) and a batch holds at most
  ``POSTACI_FETCH_BATCH_SIZE`` messages and ``POSTACI_FETCH_BATCH_BYTES`` bytes, so a 1 GB
  mbox never sits in memory. The stdlib's ``mailbox.mbox`` is not used: it first scans the
  whole file into a table of contents (a second pass over a large file, and memory that grows
  with the number of messages), cannot start at a byte offset, and does not undo the
  ``>From`` quoting of mboxrd files; the reader below does all three in one pass. The
  messages themselves are parsed by the intake's parser (the stdlib's ``email``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailboxes.intake.fetch import objects_before_run_frozen, process_batch, run_prepare
from mailboxes.intake.journal import ARCHIVE_FOLDER, journal_write
from mailboxes.intake.locking import import_lock
from mailboxes.intake.pipeline import hook_after_batch
from mailboxes.messages import ARCHIVE_CRASHED, ARCHIVE_EMPTY, ARCHIVE_GONE
from mailboxes.models import MailAccount, MailImport, RawMessage

logger = logging.getLogger(__name__)

FROM_ = b"From "
_QUOTED_FROM = re.compile(rb">+From ")
_LINE_LIMIT = 64 * 1024  # a line longer than this is read in pieces

# What an earlier journal row of the same bytes counts as when they come again.
_AGAIN = {
    RawMessage.Status.IMPORTED: "duplicates",
    RawMessage.Status.DUPLICATE: "duplicates",
    RawMessage.Status.SKIPPED: "skipped",
    RawMessage.Status.QUARANTINED: "quarantined",
    RawMessage.Status.PENDING: "duplicates",
}
COUNTERS = ("imported", "duplicates", "skipped", "quarantined")

ImportProgress = Callable[[MailImport], None]


@dataclass
class ArchiveMessage:
    """One message of an archive: its bytes (headers only when over the size limit)."""

    offset: int  # where it starts in the file
    end: int  # where the next one starts: the position to resume from once it is done
    raw: bytes
    size: int  # its whole size, also when ``raw`` holds the headers only
    headers_only: bool = False


def _headers(lines: list[bytes]) -> list[bytes]:
    """The header lines of a message (up to and including the blank line)."""
    for i, line in enumerate(lines):
        if line in (b"\n", b"\r\n"):
            return lines[: i + 1]
    return lines


class _Collector:
    """The lines of the message being read, down to its headers once it is over the limit."""

    def __init__(self, offset: int, max_size: int) -> None:
        self.offset, self.max_size = offset, max_size
        self.lines: list[bytes] = []
        self.size = 0
        self.too_large = False
        self.last_blank = 0  # the length of the last line when it was blank

    def add(self, line: bytes) -> None:
        self.size += len(line)
        self.last_blank = len(line) if line in (b"\n", b"\r\n") else 0
        if self.too_large:
            return
        self.lines.append(line)
        if self.size > self.max_size:
            self.too_large = True
            self.lines = _headers(self.lines)

    def message(self, end: int, *, separated: bool) -> ArchiveMessage:
        lines = self.lines
        size = self.size
        # the blank line before the next "From " belongs to the mbox, not to the message
        if separated and self.last_blank:
            size -= self.last_blank
            if not self.too_large:
                lines = lines[:-1]
        return ArchiveMessage(
            offset=self.offset,
            end=end,
            raw=b"".join(lines),
            size=size,
            headers_only=self.too_large,
        )


def archive_messages(
    file: BinaryIO, *, start: int = 0, max_size: int | None = None
) -> Iterator[ArchiveMessage]:
    """The messages of an open archive from byte ``start`` on: an mbox (the file starts with
    a ``From `` line; mboxrd's ``>From`` quoting undone) or else one ``.eml`` message."""
    max_size = settings.POSTACI_MAX_MESSAGE_SIZE if max_size is None else max_size
    file.seek(start)
    head = file.read(len(FROM_))
    file.seek(start)
    if head != FROM_:
        if start == 0 and head:
            yield from _single_message(file, max_size)
        return
    position = start
    current: _Collector | None = None
    at_line_start = True
    while True:
        line = file.readline(_LINE_LIMIT)
        if not line:
            break
        length = len(line)
        if at_line_start and line.startswith(FROM_):
            if current is not None:
                yield current.message(position, separated=True)
            current = _Collector(position + length, max_size)
        elif current is not None:
            if at_line_start and line[:1] == b">" and _QUOTED_FROM.match(line):
                line = line[1:]
            current.add(line)
        position += length
        at_line_start = line.endswith(b"\n")
    if current is not None:  # writers end the last message with the blank line too
        yield current.message(position, separated=True)


def _single_message(file: BinaryIO, max_size: int) -> Iterator[ArchiveMessage]:
    collector = _Collector(0, max_size)
    for line in iter(lambda: file.readline(_LINE_LIMIT), b""):
        collector.add(line)
    yield collector.message(collector.size, separated=False)


def archive_batches(messages: Iterator[ArchiveMessage]) -> Iterator[list[ArchiveMessage]]:
    """Messages in batches as a fetch makes them (``fetch.fetch_batches``): at most
    ``POSTACI_FETCH_BATCH_SIZE`` messages and ``POSTACI_FETCH_BATCH_BYTES`` bytes together
    (a larger message alone)."""
    count = max(1, settings.POSTACI_FETCH_BATCH_SIZE)
    budget = max(1, settings.POSTACI_FETCH_BATCH_BYTES)
    batch: list[ArchiveMessage] = []
    held = 0
    for message in messages:
        if batch and (len(batch) >= count or held + len(message.raw) > budget):
            yield batch
            batch, held = [], 0
        batch.append(message)
        held += len(message.raw)
    if batch:
        yield batch


def import_batch(run, mail_import: MailImport, batch: list[ArchiveMessage]) -> dict[str, int]:
    """Journal one batch and run it through the pipeline; the caller owns the transaction.
    Returns how many messages each counter got."""
    counts = dict.fromkeys(COUNTERS, 0)
    digests = [hashlib.sha256(message.raw).hexdigest() for message in batch]
    known = dict(
        RawMessage.objects.filter(account_id=mail_import.account_id, sha256__in=set(digests))
        .order_by("id")
        .values_list("sha256", "status")
    )
    rows: list[RawMessage] = []
    sequence = mail_import.messages
    for message, digest in zip(batch, digests, strict=True):
        sequence += 1
        if digest in known:
            counts[_AGAIN[known[digest]]] += 1
            continue
        known[digest] = RawMessage.Status.DUPLICATE  # the same bytes again in this file
        rows.append(
            RawMessage(
                account_id=mail_import.account_id,
                mail_import=mail_import,
                folder=ARCHIVE_FOLDER,
                uidvalidity=mail_import.pk,
                uid=sequence,
                sha256=digest,
                size=message.size,
                raw=message.raw,
                headers_only=message.headers_only,
            )
        )
    for outcome in process_batch(run, rows):
        counts[outcome] += 1
    journal_write(rows)
    return counts


def _fail(mail_import: MailImport, error) -> MailImport:
    mail_import.status = MailImport.Status.FAILED
    mail_import.error = error
    mail_import.finished_at = timezone.now()
    mail_import.save(update_fields=["status", "error", "finished_at"])
    return mail_import


def mail_import_create(
    *,
    account: MailAccount,
    path: Path,
    file_name: str,
    user=None,
    open_cases: bool = False,
    owns_file: bool = True,
) -> MailImport:
    """A queued import of the file at ``path`` (removed when done if ``owns_file``: an
    upload, not a file named to ``importmail``)."""
    return MailImport.objects.create(
        account=account,
        user=user,
        file_name=file_name[:255],
        path=str(path),
        size=path.stat().st_size,
        open_cases=open_cases,
        owns_file=owns_file,
    )


def mail_import_run(import_id: int, *, progress: ImportProgress | None = None) -> MailImport:
    """Import (or go on importing) one archive; safe to call again at any time: a finished
    import is left alone, a running one (another worker holds its lock) too, and an
    interrupted one resumes after its last committed batch."""
    mail_import = MailImport.objects.select_related("account").get(pk=import_id)
    if mail_import.status in (MailImport.Status.DONE, MailImport.Status.FAILED):
        return mail_import
    with import_lock(mail_import.pk) as acquired:
        if not acquired:
            return mail_import
        mail_import.refresh_from_db()
        if mail_import.status in (MailImport.Status.DONE, MailImport.Status.FAILED):
            return mail_import
        try:
            return _run(mail_import, progress)
        except Exception as exc:
            logger.exception("Import %s stopped", mail_import.pk)
            return _fail(mail_import, ARCHIVE_CRASHED(error=f"{type(exc).__name__}: {exc}"))


def _run(mail_import: MailImport, progress: ImportProgress | None) -> MailImport:
    path = Path(mail_import.path)
    if not mail_import.path or not path.is_file():
        return _fail(mail_import, ARCHIVE_GONE())
    mail_import.status = MailImport.Status.RUNNING
    mail_import.started_at = mail_import.started_at or timezone.now()
    mail_import.save(update_fields=["status", "started_at"])
    run = run_prepare(mail_import.account.specific, notify=False)  # history
    run.cases = mail_import.open_cases
    fields = ["position", "messages", *COUNTERS]
    with objects_before_run_frozen(), path.open("rb") as file:
        for batch in archive_batches(archive_messages(file, start=mail_import.position)):
            with transaction.atomic():
                counts = import_batch(run, mail_import, batch)
                for name, n in counts.items():
                    setattr(mail_import, name, getattr(mail_import, name) + n)
                mail_import.messages += len(batch)
                mail_import.position = batch[-1].end
                mail_import.save(update_fields=fields)
            hook_after_batch(run)
            if progress is not None:
                progress(mail_import)
    if not mail_import.messages:
        return _fail(mail_import, ARCHIVE_EMPTY())
    mail_import.status = MailImport.Status.DONE
    mail_import.position = mail_import.size
    mail_import.finished_at = timezone.now()
    mail_import.save(update_fields=["status", "position", "finished_at"])
    if mail_import.owns_file:
        path.unlink(missing_ok=True)  # its messages are in the journal now
    return mail_import
