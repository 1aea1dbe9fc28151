"""Run raw messages through the intake pipeline as a fetch would, without an IMAP server.

The Dovecot tests (tests/mailboxes/linking/test_intake_notifications.py) cover fetching
itself; these helpers let the many linking and notification rules be tested on exactly the
code a fetch runs after downloading: ``journal_and_process`` (journal, the pipeline steps,
the journal's outcomes) in one transaction, then the ``after_batch`` hook.
"""

from __future__ import annotations

import itertools

from django.db import transaction

from mailboxes.intake.context import IntakeContext
from mailboxes.intake.fetch import journal_and_process, run_prepare
from mailboxes.intake.journal import FetchedMessage, journal_batch
from mailboxes.intake.parse import parse_message
from mailboxes.intake.pipeline import hook_after_batch, run_steps
from mailboxes.models import Email, MailAccount

_uids = itertools.count(1)


def import_messages(
    account: MailAccount, *raws: bytes, notify: bool = True, folder: str = "INBOX"
) -> list[str]:
    """Import ``raws`` as one batch of ``account``; returns each message's outcome."""
    run = run_prepare(account.specific, notify=notify)
    with transaction.atomic():
        items = [FetchedMessage(uid=next(_uids), raw=raw) for raw in raws]
        batch = journal_and_process(run, folder, 1, items)
    hook_after_batch(run)
    return batch.outcomes


def import_one(account: MailAccount, raw: bytes, *, notify: bool = True) -> Email:
    """Import one message and return its Email (fresh from the database)."""
    outcome = import_messages(account, raw, notify=notify)
    assert outcome[0] in ("imported", "duplicates"), outcome
    return Email.objects.get(message_id=parse_message(raw).message_id)


def contexts_before(
    account: MailAccount, raws: list[bytes], step: str, *, notify: bool = True
) -> list[IntakeContext]:
    """Contexts of one batch after every pipeline step before ``step`` (e.g. "link").

    For measuring one step alone; run it on the result inside ``transaction.atomic()`` or a
    test's transaction.
    """
    run = run_prepare(account.specific, notify=notify)
    journaled = journal_batch(
        account, "INBOX", 1, [FetchedMessage(uid=next(_uids), raw=raw) for raw in raws]
    )
    batch = [IntakeContext(run=run, folder=raw.folder, raw=raw) for raw in journaled]
    return run_steps(batch, until=step)
