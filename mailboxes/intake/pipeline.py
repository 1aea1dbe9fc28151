"""The intake pipeline: every step and hook of a fetch, in order, in one place.

A fetch run (one account, ``FetchRun``) goes like this::

    hook  prepare_run    RUN    filters   compile the account's import-time filters once
    for each batch of UIDs (fetch.py, one transaction with the folder's cursor):
      1. fetch           sizes, then headers (hook headers_skip) and the bodies still wanted
      hook headers_skip  EACH   filters   skip on headers alone: the body is never downloaded
      2. journal         the bytes as RawMessage rows, before anything can fail
      3.-11. STEPS       below, on the journaled messages of the batch
      journal write      each row's outcome (imported, duplicate, skipped, quarantined)
      hook after_batch   BATCH  filters   after the commit: write the filters' match counts
      \\Seen on the server, after the commit

A step is a plain function. ``EACH`` steps take one ``IntakeContext``; ``BATCH`` steps take
the list of contexts still going and do their database work for all of them in a few bulk
statements (that is what makes the import fast). A step ends a message's trip early by
setting ``ctx.stop`` (e.g. a Skip filter).

Steps and hooks of ``mailboxes`` are named here by import path (resolved on first use; a test
swaps one by monkeypatching its module and calling ``_step_functions.cache_clear()``). Steps
and hooks of the apps built on mailboxes are only *slots* here: ``filters``, ``cases`` and
``meetings`` fill them in their ``AppConfig.ready`` with ``step_provide`` / ``hook_provide``,
so mailboxes imports none of them and still shows the whole flow. A slot nobody provides is skipped.

An imported archive (importing.py) runs the same steps on its journaled messages. Whether a
run is history (an account's first fetch, an import: no notifications, auto-replies or
events) and whether it may open cases, the steps ask ``run_is_history`` and
``run_opens_cases`` (context.py), nothing else.

``process_batch`` in fetch.py runs the steps on the whole batch in one savepoint; if anything
fails it rolls that back and runs every message alone, each in a savepoint of its own, so one
bad message is quarantined and the others are imported exactly as they would have been.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from mailboxes.intake.context import FetchRun, HeaderSkip, IntakeContext

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedMessage

RUN, EACH, BATCH = "run", "each", "batch"


@dataclass
class Slot:
    """One step or hook of a fetch: mailboxes' own by ``path``, another app's by ``provide``."""

    name: str
    mode: str  # RUN (once per fetch run), EACH (per message) or BATCH
    owner: str  # the app whose function fills the slot
    path: str = ""
    function: Callable | None = None

    def resolve(self) -> Callable | None:
        if self.function is None and self.path:
            return import_string(self.path)
        return self.function


STEPS: list[Slot] = [
    # 3. parse the journaled bytes into a ParsedMessage (malformed → flagged, still stored)
    Slot("parse", EACH, "mailboxes", "mailboxes.intake.parse.parse_step"),
    # 4. auto-reply / out-of-office / bounce / list / our own mail
    Slot("classify", EACH, "mailboxes", "mailboxes.intake.classify.classify_step"),
    # 5. global then account filters: Skip (ends the trip), Move to group folder
    Slot("account_filters", EACH, "filters"),
    # 6. one Email per Message-ID across all accounts; addresses; attachments
    Slot("store", BATCH, "mailboxes", "mailboxes.intake.store.store_batch"),
    # 6b. the full-text search documents of the new emails (one statement)
    Slot("index", BATCH, "mailboxes", "mailboxes.intake.index.index_batch"),
    # 7. parent record: our reference, replied email, sender, Reply-To, To; then the rules
    #    other apps register (cases: the case of the thread, an authorised [#N])
    Slot("link", BATCH, "mailboxes", "mailboxes.intake.link.link_batch"),
    # 7b. a bounce: which recipient failed and why; hard (or repeated soft) ones make the
    #     address invalid, the sender of the bounced email is told (bounces only)
    Slot("bounces", BATCH, "mailboxes", "mailboxes.bounces.intake.bounces_batch"),
    # 8. who sees it: the account's teams/users, owner, addressed users ...
    Slot("recipients", BATCH, "mailboxes", "mailboxes.intake.recipients.recipients_batch"),
    # 9. ... and the case's people: an email on a case (step 7) gives it to the case's
    #    assignee and teams and may reopen it; any other opens a case, assigned by the rule ...
    Slot("case", BATCH, "cases"),
    # 9b. ... then each new recipient's own inbox filters, the case's assignee included
    Slot("user_filters", EACH, "filters"),
    # 10. auto-reply: decided now, queued after commit, through the loop guard
    Slot("auto_reply", EACH, "cases"),
    # 10b. an invitation's CANCEL, REPLY or updated REQUEST reaches the meetings of its UID
    Slot("calendar", BATCH, "meetings"),
    # 11. stream notes and notifications, nobody twice
    Slot("notify", BATCH, "mailboxes", "mailboxes.intake.notify.notify_batch"),
]

HOOKS: dict[str, Slot] = {
    hook.name: hook
    for hook in [
        # before the first batch: (run) → None; attach what the run shares (compiled filters)
        Slot("prepare_run", RUN, "filters"),
        # before bodies are downloaded: (run) → a function (parsed headers) → HeaderSkip | None,
        # or None when nothing can skip a message on its headers alone
        Slot("headers_skip", EACH, "filters"),
        # after each batch (or retried message) has committed: (run) → None
        Slot("after_batch", BATCH, "filters"),
    ]
}


def _provide(slots: list[Slot], name: str, function: Callable | str) -> None:
    """Fill a slot with a function of the app that owns it (another app's is a mistake),
    or with its import path: then it is imported when a fetch first runs the slot, so a
    process that never brings in mail (an idle poll, the web) does not load it."""
    slot = next((slot for slot in slots if slot.name == name), None)
    if slot is None:
        raise ImproperlyConfigured(f"No intake slot {name!r} (mailboxes/intake/pipeline.py)")
    module = function if isinstance(function, str) else function.__module__
    if module.split(".")[0] != slot.owner:
        raise ImproperlyConfigured(
            f"The intake slot {name!r} belongs to {slot.owner!r}, not {module!r}"
        )
    if isinstance(function, str):
        slot.path, slot.function = function, None
    else:
        slot.function = function


def step_provide(name: str, function: Callable | str) -> None:
    """Fill the pipeline step ``name`` with a function or its import path (the owning app's
    ``AppConfig.ready`` calls this)."""
    _provide(STEPS, name, function)
    _step_functions.cache_clear()


def hook_provide(name: str, function: Callable | str) -> None:
    """Fill the fetch hook ``name`` with a function or its import path (the owning app's
    ``AppConfig.ready`` calls this)."""
    _provide(list(HOOKS.values()), name, function)


@cache
def _step_functions() -> list[tuple[str, Callable, str]]:
    steps = [(slot.name, slot.resolve(), slot.mode) for slot in STEPS]
    return [(name, function, mode) for name, function, mode in steps if function is not None]


def run_steps(batch: list[IntakeContext], *, until: str | None = None) -> list[IntakeContext]:
    """Run every step on a batch (or every step before ``until``); the caller owns the
    transaction and savepoints."""
    for name, step, mode in _step_functions():
        if name == until:
            break
        live = [ctx for ctx in batch if not ctx.stop]
        if not live:
            break
        if mode == BATCH:
            step(live)
        else:
            for ctx in live:
                step(ctx)
    return batch


def hook_prepare_run(run: FetchRun) -> FetchRun:
    """Hook ``prepare_run``: what the apps attach to a new fetch run."""
    function = HOOKS["prepare_run"].resolve()
    if function is not None:
        function(run)
    return run


def hook_headers_skip(run: FetchRun) -> Callable[[ParsedMessage], HeaderSkip | None] | None:
    """Hook ``headers_skip``: a function saying which filter skips a message on its headers,
    or None when nothing could (then the fetch does not download headers first)."""
    function = HOOKS["headers_skip"].resolve()
    return function(run) if function is not None else None


def hook_after_batch(run: FetchRun) -> None:
    """Hook ``after_batch``: work for after a batch has committed (filter match counts)."""
    function = HOOKS["after_batch"].resolve()
    if function is not None:
        function(run)
