"""Run raw messages through the intake pipeline as a fetch would, without an IMAP server.

The Dovecot tests (tests/linking/test_intake_notifications.py) cover fetching itself; these
helpers let the many linking and notification rules be tested on exactly the code a fetch
runs after downloading: journal, then ``process_batch`` in one transaction.
"""

from __future__ import annotations

import itertools

from django.db import transaction

from mailboxes.intake.fetch import process_batch, run_prepare
from mailboxes.intake.journal import FetchedMessage, journal_batch, journal_record_outcomes
from mailboxes.models import Email, MailAccount

_uids = itertools.count(1)


def import_messages(
    account: MailAccount, *raws: bytes, notify: bool = True, folder: str = "INBOX"
) -> list[str]:
    """Import ``raws`` as one batch of ``account``; returns each message's outcome."""
    run = run_prepare(account.specific, notify=notify)
    with transaction.atomic():
        journaled = journal_batch(
            account, folder, 1, [FetchedMessage(uid=next(_uids), raw=raw) for raw in raws]
        )
        outcomes = process_batch(run, journaled)
        journal_record_outcomes(journaled)
    return outcomes


def import_one(account: MailAccount, raw: bytes, *, notify: bool = True) -> Email:
    """Import one message and return its Email (fresh from the database)."""
    outcome = import_messages(account, raw, notify=notify)
    assert outcome[0] in ("imported", "duplicates"), outcome
    from mailboxes.intake.parse import parse_message

    return Email.objects.get(message_id=parse_message(raw).message_id)


def contexts_before(
    account: MailAccount, raws: list[bytes], step: str, *, notify: bool = True
) -> list:
    """Contexts of one batch after every pipeline step before ``step`` (e.g. "link").

    For measuring one step alone; run it on the result inside ``transaction.atomic()`` or a
    test's transaction.
    """
    from mailboxes.intake.context import IntakeContext
    from mailboxes.intake.pipeline import BATCH, _step_functions

    run = run_prepare(account.specific, notify=notify)
    journaled = journal_batch(
        account, "INBOX", 1, [FetchedMessage(uid=next(_uids), raw=raw) for raw in raws]
    )
    batch = [IntakeContext(run=run, folder=raw.folder, raw=raw) for raw in journaled]
    for name, function, mode in _step_functions():
        if name == step:
            break
        live = [ctx for ctx in batch if not ctx.stop]
        if mode == BATCH:
            function(live)
        else:
            for ctx in live:
                function(ctx)
    return batch
