"""The intake pipeline: the whole flow of one message, in order.

Fetching (step 1) and journaling (step 2) happen per batch in ``fetch.py``; the journaled
messages of a batch then go through ``STEPS`` inside the batch transaction.

A step is a plain function. ``EACH`` steps take and return one ``IntakeContext``; ``BATCH``
steps take the list of contexts still going and do their database work for all of them in a
few bulk statements (that is what makes the import fast). A step ends a message's trip early
by setting ``ctx.stop`` (e.g. a Skip filter).

``process_batch`` in fetch.py runs the steps on the whole batch in one savepoint; if anything
fails it rolls that back and runs every message alone, each in a savepoint of its own, so one
bad message is quarantined and the others are imported exactly as they would have been.

Steps of the ``filters`` and ``cases`` apps are named by import path, so this file shows the
whole flow while ``mailboxes`` does not import the apps that build on it.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from mailboxes.intake.context import IntakeContext

EACH, BATCH = "each", "batch"

STEPS: list[tuple[str, str, str]] = [
    # 3. parse the journaled bytes into a ParsedMessage (malformed → flagged, still stored)
    ("parse", "mailboxes.intake.parse.parse_step", EACH),
    # 4. auto-reply / out-of-office / bounce / list / our own mail
    ("classify", "mailboxes.intake.classify.classify_step", EACH),
    # 5. global then account filters: Skip, Move to group folder
    ("account_filters", "filters.intake.apply_account_filters", EACH),
    # 6. one Email per Message-ID across all accounts; addresses; attachments
    ("store", "mailboxes.intake.store.store_batch", BATCH),
    # 7. parent record: our reference, replied email, sender, Reply-To, To
    ("link", "mailboxes.intake.link.link_batch", BATCH),
    # 8. who sees it (account teams/users, owner, addressed users), then their own filters
    ("recipients", "mailboxes.intake.recipients.recipients_batch", BATCH),
    ("user_filters", "filters.intake.apply_user_filters", EACH),
    # 9. email-to-case: join the thread's case or open one, assigned by the account's rule
    ("case", "cases.intake.email_to_case", EACH),
    # 10. auto-reply: queued after commit, through the loop guard
    ("auto_reply", "cases.intake.queue_auto_reply", EACH),
    # 11. stream notes and notifications, nobody twice
    ("notify", "mailboxes.intake.notify.notify_batch", BATCH),
]


@cache
def _step_functions() -> list:
    return [(name, import_string(path), mode) for name, path, mode in STEPS]


def run_steps(batch: list[IntakeContext]) -> list[IntakeContext]:
    """Run every step on a batch; the caller owns the transaction and savepoints."""
    for _name, step, mode in _step_functions():
        live = [ctx for ctx in batch if not ctx.stop]
        if not live:
            break
        if mode == BATCH:
            step(live)
        else:
            for ctx in live:
                step(ctx)
    return batch
