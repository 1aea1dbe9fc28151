"""The intake pipeline: the whole flow of one message, in order.

Fetching (step 1) and journaling (step 2) happen per batch in ``fetch.py``; each journaled
message then goes through ``STEPS`` inside the batch transaction, in a savepoint of its own
(``process_message``). Steps are plain functions ``(IntakeContext) -> IntakeContext``;
a step ends the trip early by setting ``ctx.stop``.

Steps of the ``filters`` and ``cases`` apps are named by import path, so this file shows the
whole flow while ``mailboxes`` still does not import the apps that build on it.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from mailboxes.intake.context import IntakeContext

STEPS: list[tuple[str, str]] = [
    # 3. parse the journaled bytes into a ParsedMessage (malformed → flagged, still stored)
    ("parse", "mailboxes.intake.parse.parse_step"),
    # 4. auto-reply / out-of-office / bounce / list / our own mail
    ("classify", "mailboxes.intake.classify.classify_step"),
    # 5. global then account filters: Skip, Move to group folder
    ("account_filters", "filters.intake.apply_account_filters"),
    # 6. one Email per Message-ID across all accounts; addresses; attachments
    ("store", "mailboxes.intake.store.store_step"),
    # 7. parent record: our reference, replied email, sender, Reply-To, To
    ("link", "mailboxes.intake.link.link_step"),
    # 8. who sees it (account teams/users, owner, addressed users), then their own filters
    ("recipients", "mailboxes.intake.recipients.recipients_step"),
    ("user_filters", "filters.intake.apply_user_filters"),
    # 9. email-to-case: join the thread's case or open one, assigned by the account's rule
    ("case", "cases.intake.email_to_case"),
    # 10. auto-reply: queued after commit, through the loop guard
    ("auto_reply", "cases.intake.queue_auto_reply"),
    # 11. stream notes and notifications, nobody twice
    ("notify", "mailboxes.intake.notify.notify_step"),
]


@cache
def _step_functions() -> list:
    return [(name, import_string(path)) for name, path in STEPS]


def run_steps(ctx: IntakeContext) -> IntakeContext:
    """Run every step on one message; the caller owns the transaction and savepoint."""
    for _name, step in _step_functions():
        ctx = step(ctx)
        if ctx.stop:
            break
    return ctx
