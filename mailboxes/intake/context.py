"""The small objects that travel through the intake pipeline.

What the apps built on mailboxes attach (the filters app's compiled filters on the run, the
cases app's case on the context) is typed by a ``Protocol`` of what mailboxes itself reads:
the filters' ``CompiledFilters`` and the cases' ``Case`` satisfy them, and mailboxes imports
neither app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from crm.events import event_publish

if TYPE_CHECKING:
    from mailboxes.intake.classify import Classification
    from mailboxes.intake.parse import ParsedMessage
    from mailboxes.models import Email, GroupEmailFolder, MailAccount, RawMessage


class RunFilters(Protocol):
    """The run's compiled import-time filters (``filters.matching.CompiledFilters``)."""

    @property
    def can_skip_on_headers(self) -> bool: ...

    def __len__(self) -> int: ...


class HeaderSkip(Protocol):
    """The filter that skips a message on its headers (``filters.matching.CompiledFilter``)."""

    @property
    def id(self) -> int | None: ...

    @property
    def label(self) -> str: ...


class CaseRecord(Protocol):
    """The case an email joined or opened in step 9 (``cases.models.Case``): what the notify
    step reads of it."""

    pk: int
    assigned_user_id: int | None
    account_id: int | None
    # of a case the email opened: its text without quotes (``visible_reply_text``)
    description: str


@dataclass
class FetchRun:
    """What one fetch of one account shares between its messages.

    Built once per run so per-message steps never re-query settings such as the account's
    filters (``filters`` is filled by the filters app, ``cache`` by any step that wants a
    per-run memo).
    """

    account: MailAccount
    # False for history (an account's first fetch, an imported archive): see ``run_is_history``
    notify: bool = True
    # False: email-to-case opens no case and reopens none (an import without "open cases")
    cases: bool = True
    # False for "import it anyway": the account's filters may not skip the message again
    filters_may_skip: bool = True
    filters: RunFilters | None = None
    cache: dict[str, Any] = field(default_factory=dict)


def run_is_history(run: FetchRun) -> bool:
    """Whether the run brings in history rather than new mail (an account's first fetch, an
    imported archive): stored, filtered and linked as new mail, but nobody is told: no
    notifications, no auto-replies, no events for webhooks. The one place every step asks."""
    return not run.notify


def run_event_publish(run: FetchRun, name: str, objects: Iterable) -> None:
    """Publish a domain event of the intake (``crm.events``), except for history: webhooks
    hear of new mail, not of an archive being imported. The run's cache is the listeners'
    memo: the webhooks read their endpoints once a fetch, not once an event and batch."""
    if not run_is_history(run):
        event_publish(name, objects, memo=run.cache)


def run_opens_cases(run: FetchRun) -> bool:
    """Whether email-to-case may open (or reopen) cases in this run: live mail always, an
    import only when asked to."""
    return run.cases


@dataclass
class UserOutcome:
    """What a user's own filters decided for their copy of one email (step 9b)."""

    folder_id: int | None = None
    in_trash: bool = False
    mark_read: bool = False
    no_notification: bool = False
    matched_filter_id: int | None = None


@dataclass
class IntakeContext:
    """One message on its way through the pipeline steps."""

    run: FetchRun
    folder: str
    raw: RawMessage
    parsed: ParsedMessage | None = None
    classification: Classification | None = None
    # step 5: the label and id of the filter that skipped the message
    skipped_by: str = ""
    skip_filter_id: int | None = None
    group_folder: GroupEmailFolder | None = None
    # step 6
    email: Email | None = None
    is_new_email: bool = False
    # steps 8 and 9: users who got the email in this run; 9b: what their filters decided
    new_user_ids: set[int] = field(default_factory=set)
    user_outcomes: dict[int, UserOutcome] = field(default_factory=dict)
    # step 9
    case: CaseRecord | None = None
    case_created: bool = False
    # set by any step to end the message's trip (e.g. Skip)
    stop: bool = False
    # work to do once the batch has committed (e.g. enqueue an auto-reply)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def account(self) -> MailAccount:
        return self.run.account
