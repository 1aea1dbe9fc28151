"""Step 2: the journal of raw messages, and recording what became of each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from crm.bulk import bulk_insert, bulk_update_values, model_build
from mailboxes.models import MailAccount, RawMessage

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedMessage

OUTCOME_FIELDS = (
    "status",
    "email",
    "message_id",
    "skipped_by",
    "skip_filter_id",
    "sender",
    "subject",
    "date_sent",
    "error",
    "traceback",
    "processed_at",
    "attempts",
)


# The folder of a message from an imported archive (mailboxes/intake/importing.py); no IMAP
# folder has an empty name.
ARCHIVE_FOLDER = ""


def raw_from_archive(raw: RawMessage) -> bool:
    """Whether a journaled message came from an imported archive, not from IMAP: it is
    history (retried without notifying anyone) and there is no server to download it from."""
    return raw.folder == ARCHIVE_FOLDER


@dataclass
class FetchedMessage:
    """One message as downloaded from the server; ``skipped`` when a filter skipped it on
    its headers (``parsed``) before the body was downloaded."""

    uid: int
    raw: bytes
    headers_only: bool = False
    skipped_by: str = ""
    skip_filter_id: int | None = None
    parsed: ParsedMessage | None = None


def journal_note_skipped(
    raw: RawMessage, *, label: str, filter_id: int | None, parsed: ParsedMessage | None
) -> None:
    """Mark ``raw`` skipped by a filter, keeping what the message was (Message-ID, sender,
    subject, date) for the filter's list of skipped mail and "import it anyway"."""
    raw.status = RawMessage.Status.SKIPPED
    raw.skipped_by, raw.skip_filter_id = label[:255], filter_id
    if parsed is None:
        return
    raw.message_id = parsed.message_id[:998]
    sender = parsed.sender
    if sender is not None:
        raw.sender = (f"{sender.name} <{sender.address}>" if sender.name else sender.address)[:998]
    raw.subject = parsed.subject
    raw.date_sent = parsed.date


def journal_batch(
    account: MailAccount, folder: str, uidvalidity: int, items: list[FetchedMessage]
) -> list[RawMessage]:
    """The journal rows of a batch: every downloaded message gets one, whatever happens to it.

    New rows are written by ``journal_write`` together with their outcome, in the same
    transaction as the emails they produce (the batch commits all or nothing, so writing
    them last is as safe as writing them first, and saves an UPDATE of every row: measured
    0.09 ms a message). UIDs journaled before (only after "reset fetch cursor") keep their
    row, which goes through the pipeline again: an email deleted since comes back, the others
    are found by Message-ID.
    """
    known = {
        raw.uid: raw
        for raw in RawMessage.objects.filter(
            account_id=account.pk,
            folder=folder,
            uidvalidity=uidvalidity,
            uid__in=[item.uid for item in items],
        ).defer("raw")  # the bytes come fresh from the server
    }
    now = timezone.now()
    rows = []
    for item in items:
        raw = known.get(item.uid)
        if raw is not None:
            raw.raw, raw.headers_only, raw.status = (
                item.raw,
                item.headers_only,
                RawMessage.Status.PENDING,
            )
            raw.skipped_by, raw.skip_filter_id = "", None
        else:
            raw = model_build(
                RawMessage,
                account_id=account.pk,
                folder=folder,
                uidvalidity=uidvalidity,
                uid=item.uid,
                sha256=hashlib.sha256(item.raw).hexdigest(),
                size=len(item.raw),
                raw=item.raw,
                headers_only=item.headers_only,
            )
            rows.append(raw)
        if item.skipped_by:
            journal_note_skipped(
                raw, label=item.skipped_by, filter_id=item.skip_filter_id, parsed=item.parsed
            )
            raw.processed_at = now
    return list(known.values()) + rows


def journal_write(raws: list[RawMessage]) -> None:
    """Insert the batch's new journal rows (with their outcomes) and update the old ones."""
    new = [raw for raw in raws if raw.pk is None]
    known = [raw for raw in raws if raw.pk is not None]
    bulk_insert(new)
    bulk_update_values(known, OUTCOME_FIELDS)  # one UPDATE statement
