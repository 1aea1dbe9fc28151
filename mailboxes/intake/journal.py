"""Step 2: the journal of raw messages, and recording what became of each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from mailboxes.intake.bulk import bulk_insert, bulk_update_values
from mailboxes.models import MailAccount, RawMessage

OUTCOME_FIELDS = (
    "status",
    "email",
    "message_id",
    "skipped_by",
    "error",
    "traceback",
    "processed_at",
    "attempts",
)


@dataclass
class FetchedMessage:
    """One message as downloaded from the server."""

    uid: int
    raw: bytes
    headers_only: bool = False
    skipped_by: str = ""
    internal_date: datetime | None = None


def journal_batch(
    account: MailAccount, folder: str, uidvalidity: int, items: list[FetchedMessage]
) -> list[RawMessage]:
    """Store the raw bytes before anything parses them (one INSERT for the batch).

    UIDs journaled before (only after "reset fetch cursor") keep their row, which goes
    through the pipeline again: an email deleted since comes back, the others are found
    by Message-ID.
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
    for item in items:
        raw = known.get(item.uid)
        if raw is not None:
            raw.raw, raw.headers_only, raw.status = (
                item.raw,
                item.headers_only,
                RawMessage.Status.PENDING,
            )
            raw.skipped_by = item.skipped_by
            if item.skipped_by:
                raw.status = RawMessage.Status.SKIPPED
    now = timezone.now()
    rows = [
        RawMessage(
            account_id=account.pk,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=item.uid,
            sha256=hashlib.sha256(item.raw).hexdigest(),
            size=len(item.raw),
            raw=item.raw,
            headers_only=item.headers_only,
            status=RawMessage.Status.SKIPPED if item.skipped_by else RawMessage.Status.PENDING,
            skipped_by=item.skipped_by,
            processed_at=now if item.skipped_by else None,
        )
        for item in items
        if item.uid not in known
    ]
    return list(known.values()) + list(bulk_insert(rows))


def journal_record_outcomes(raws: list[RawMessage]) -> None:
    """Write every row's outcome in one UPDATE statement."""
    bulk_update_values(raws, OUTCOME_FIELDS)
