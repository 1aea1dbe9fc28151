"""Intake steps of the filters app (pipeline steps 5 and 9b) and its fetch hooks.

``FiltersConfig.ready`` puts these functions into the slots of ``mailboxes.intake.pipeline``.
How a fetch run (one ``FetchRun``) uses them:

0. Hook ``prepare_run``: ``account_filters(run)`` compiles the account's filters once.
1. Hook ``headers_skip``: ``headers_skipper(run)`` is ``headers_skip_filter`` bound to the run
   when a filter can skip on headers alone (else None). Before downloading bodies the fetcher
   asks it for each new message whose headers are parsed. An answer (not None) is the filter
   that skips it, with its ``label`` (``"<filter> (#id)"``) and ``id``: journal the message
   (its headers, and its Message-ID, sender, subject and date) with status ``skipped``, do not
   download its body and do **not** send it through the pipeline steps (the match is
   already counted).
2. Step 5 ``apply_account_filters`` on the full message: a Skip sets ``ctx.skipped_by``,
   ``ctx.skip_filter_id`` and ``ctx.stop`` (journal it as ``skipped``, no Email); a Move to
   group folder sets ``ctx.group_folder``. With ``run.filters_may_skip`` False ("import it
   anyway") Skip filters are passed over.
3. Step 9b ``apply_user_filters`` after ``recipients`` and ``case`` (so the case's assignee
   is among them): applies each new recipient user's
   inbox filters to their EmailUser row and records ``ctx.user_outcomes[user_id]`` (only for
   users whose filter matched) for the notify step (``no_notification``).
4. Hook ``after_batch``, after the batch transaction commits: ``flush_filter_stats(run)``,
   which writes the match counts gathered in ``run.cache`` with one UPDATE per matched
   filter. A message whose savepoint later rolls back still counts as matched (its filter
   did match it).

Filters are compiled once per run: the account's into ``run.filters``, users' inbox filters
into ``run.cache`` (loaded per new set of users, one query each time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from django.db.models import F
from django.utils import timezone

from filters.matching import CompiledFilter, CompiledFilters, MessageView, UserFilters
from filters.models import EmailFilter
from mailboxes.intake.context import FetchRun, IntakeContext, UserOutcome
from mailboxes.models import EmailUser

if TYPE_CHECKING:
    from datetime import datetime

    from mailboxes.intake.parse import ParsedMessage

Action = EmailFilter.Action

_USER_FILTERS_KEY = "filters.user_filters"
_STATS_KEY = "filters.stats"


def account_filters(run: FetchRun) -> CompiledFilters:
    """The run's compiled import-time filters (compiled on first use, kept in ``run.filters``)."""
    if run.filters is None:
        run.filters = CompiledFilters.for_account(run.account)
    return run.filters


def user_filters(run: FetchRun) -> UserFilters:
    """The run's inbox filters of users (each user loaded once per run)."""
    cached = run.cache.get(_USER_FILTERS_KEY)
    if cached is None:
        cached = run.cache[_USER_FILTERS_KEY] = UserFilters()
    return cached


def record_match(run: FetchRun, compiled: CompiledFilter) -> None:
    """Count a match in memory; ``flush_filter_stats`` writes it after the batch commits."""
    if compiled.id is None:
        return
    stats: dict[int, list] = run.cache.setdefault(_STATS_KEY, {})
    entry = stats.setdefault(compiled.id, [0, None])
    entry[0] += 1
    entry[1] = timezone.now()


def flush_filter_stats(run: FetchRun) -> int:
    """Write the run's match counts and last-match times: one UPDATE per matched filter.

    Call after the batch transaction has committed (and again after each later batch of the
    same run: counts are cleared once written). Returns the number of filters updated.
    """
    stats: dict[int, list] = run.cache.pop(_STATS_KEY, {})
    for filter_id, (count, last_matched_at) in stats.items():
        _write_stats(filter_id, count, last_matched_at)
    return len(stats)


def _write_stats(filter_id: int, count: int, last_matched_at: datetime) -> None:
    EmailFilter.objects.filter(pk=filter_id).update(
        match_count=F("match_count") + count, last_matched_at=last_matched_at
    )


def headers_skip_filter(run: FetchRun, parsed_headers_only: ParsedMessage) -> CompiledFilter | None:
    """The filter that skips this message on its headers alone, or None.

    None also when a filter that needs the body could still match first: then the body must
    be downloaded and step 5 decides.
    """
    compiled = account_filters(run).first_match(parsed_headers_only, headers_only=True)
    if compiled is None or compiled.action != Action.SKIP:
        return None
    record_match(run, compiled)
    return compiled


def headers_skipper(run: FetchRun) -> Callable[[ParsedMessage], CompiledFilter | None] | None:
    """Hook ``headers_skip``: ``headers_skip_filter`` for this run, or None when no filter of
    the run can skip a message on its headers alone (asking is then not worth it)."""
    if not account_filters(run).can_skip_on_headers:
        return None
    return partial(headers_skip_filter, run)


def apply_account_filters(ctx: IntakeContext) -> IntakeContext:
    """Step 5: global then account filters; Skip ends the trip, Move sets the group folder."""
    if ctx.parsed is None:
        return ctx
    compiled = account_filters(ctx.run).first_match(ctx.parsed, may_skip=ctx.run.filters_may_skip)
    if compiled is None:
        return ctx
    record_match(ctx.run, compiled)
    if compiled.action == Action.SKIP:
        ctx.skipped_by, ctx.skip_filter_id = compiled.label, compiled.id
        ctx.stop = True
    elif compiled.action == Action.MOVE_TO_GROUP_FOLDER:
        ctx.group_folder = compiled.group_folder
    return ctx


def user_outcome(compiled: CompiledFilter) -> UserOutcome:
    """What an inbox filter does to its owner's copy.

    Skip puts the copy in the user's Trash (others still see the email) and, since nobody
    wants to hear about mail their own filter threw away, also silences its notification.
    A Move to a folder marked "skip notifications" silences it too; a Move whose folder has
    been deleted leaves the copy where it is.
    """
    is_skip = compiled.action == Action.SKIP
    return UserOutcome(
        folder_id=compiled.folder_id,
        in_trash=is_skip,
        mark_read=compiled.mark_as_read,
        no_notification=compiled.no_notification or is_skip or compiled.folder_skips_notifications,
        matched_filter_id=compiled.id,
    )


def apply_user_filters(ctx: IntakeContext) -> IntakeContext:
    """Step 9b: each new recipient user's inbox filters, applied to their own EmailUser row."""
    if ctx.email is None or not ctx.new_user_ids:
        return ctx
    filters = user_filters(ctx.run)
    filters.load(ctx.new_user_ids)
    view = (
        MessageView.from_parsed(ctx.parsed)
        if ctx.parsed is not None
        else MessageView.from_email(ctx.email)
    )
    changes: dict[tuple, list[int]] = defaultdict(list)
    for user_id in sorted(ctx.new_user_ids):
        compiled = filters.first_match(user_id, view)
        if compiled is None:
            continue
        record_match(ctx.run, compiled)
        outcome = ctx.user_outcomes[user_id] = user_outcome(compiled)
        fields = _email_user_changes(outcome)
        if fields:
            changes[tuple(sorted(fields.items()))].append(user_id)
    _apply_changes(ctx, changes)
    return ctx


def _email_user_changes(outcome: UserOutcome) -> dict:
    fields: dict = {}
    if outcome.folder_id is not None:
        fields["folder_id"] = outcome.folder_id
    if outcome.in_trash:
        fields["in_trash"] = True
    if outcome.mark_read:
        fields["is_read"] = True
    if outcome.no_notification:
        fields["skip_notification"] = True
    return fields


def _apply_changes(ctx: IntakeContext, changes: dict[tuple, list[int]]) -> None:
    """One UPDATE per distinct change (users with the same outcome share it)."""
    for items, user_ids in changes.items():
        EmailUser.objects.filter(email=ctx.email, user_id__in=user_ids).update(**dict(items))
