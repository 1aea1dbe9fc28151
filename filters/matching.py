"""Filter matching: compile once per fetch run, then match messages without queries.

Rules (shared by import-time and inbox filters, and by the dry run):

- A filter matches when at least one criterion is set and every set criterion matches.
  A filter without criteria never matches.
- From, To and Subject are patterns matched against the whole value: ``*`` stands for any
  characters (none included), every other character is literal (``.``, ``+``, ``?``, ``[`` are
  just characters). ``hello`` matches only the subject "hello"; ``*hello*`` matches it anywhere.
- From is the sender's address; To matches when any To **or Cc** address matches.
- Body phrases are substrings of the text body, or of the HTML body's visible text when the
  message has no text part.
- Runs of whitespace count as one space in patterns, phrases, subjects and bodies; subjects and
  bodies are also trimmed.
- All comparisons are caseless with the folding rule of ``filters.text.fold`` (Unicode case
  folding, Turkish I/ı/İ/i equal, ß = ss).

Wildcards are matched by locating the literal pieces with ``str.find`` (leftmost first, which
is exact for patterns whose only operator is ``*``) rather than by a regular expression:
with a backtracking regex engine a pattern like ``*a*a*a*a*a*a*b`` takes time growing as the
subject's length to the power of its number of stars (``re`` had not finished one
200-character subject after ten minutes), and filters are written by ordinary users and run
inside the intake worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from django.db.models import Q

from filters.models import EmailFilter
from filters.text import collapse_space, fold, normalize_space
from mailboxes.html_text import html_visible_text

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedMessage
    from mailboxes.models import Email, GroupEmailFolder, MailAccount

Action = EmailFilter.Action
Scope = EmailFilter.Scope


@dataclass(frozen=True, slots=True)
class Pattern:
    """A ``*`` wildcard pattern anchored at both ends, as folded literal pieces."""

    source: str
    head: str
    middle: tuple[str, ...]
    tail: str
    exact: bool  # no "*" at all: the folded value must equal ``head``

    @classmethod
    def compile(cls, pattern: str) -> Pattern | None:
        """The compiled pattern, or None for an empty one (an unset criterion)."""
        pattern = (pattern or "").strip()
        if not pattern:
            return None
        pieces = [collapse_space(fold(piece)) for piece in pattern.split("*")]
        if len(pieces) == 1:
            return cls(pattern, pieces[0], (), "", exact=True)
        middle = tuple(piece for piece in pieces[1:-1] if piece)
        return cls(pattern, pieces[0], middle, pieces[-1], exact=False)

    def matches(self, folded: str) -> bool:
        """Whether a value already passed through ``fold`` matches the whole pattern."""
        if self.exact:
            return folded == self.head
        head, tail = self.head, self.tail
        end = len(folded) - len(tail)
        if end < len(head) or not folded.startswith(head) or not folded.endswith(tail):
            return False
        position = len(head)
        for piece in self.middle:
            found = folded.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


class MessageView:
    """What filters read of one message, each part folded at most once and only if needed."""

    def __init__(
        self,
        *,
        sender: str = "",
        recipients: Iterable[str] = (),
        subject: str = "",
        body_text: str = "",
        body_html: str = "",
    ) -> None:
        self.sender = sender
        self.recipients = tuple(recipients)
        self.subject = subject
        self.body_text = body_text
        self.body_html = body_html

    @classmethod
    def from_parsed(cls, parsed: ParsedMessage) -> MessageView:
        return cls(
            sender=parsed.sender.address if parsed.sender else "",
            recipients=[a.address for a in parsed.to] + [a.address for a in parsed.cc],
            subject=parsed.subject,
            body_text=parsed.body_text,
            body_html=parsed.body_html,
        )

    @classmethod
    def from_email(
        cls, email: Email, *, with_body: bool = True, with_recipients: bool = True
    ) -> MessageView:
        """From a stored Email; To and Cc come from ``email.recipients`` (prefetch them with
        their addresses, or this costs a query per email). Leave out what no filter reads."""
        from mailboxes.models import EmailRecipient

        recipients = []
        if with_recipients:
            kinds = (EmailRecipient.Kind.TO, EmailRecipient.Kind.CC)
            recipients = [r.address.address for r in email.recipients.all() if r.kind in kinds]
        return cls(
            sender=email.from_address.address if email.from_address_id else "",
            recipients=recipients,
            subject=email.subject,
            body_text=email.body_text if with_body else "",
            body_html=email.body_html if with_body else "",
        )

    @cached_property
    def folded_sender(self) -> str:
        return fold(self.sender)

    @cached_property
    def folded_recipients(self) -> tuple[str, ...]:
        return tuple(fold(address) for address in self.recipients)

    @cached_property
    def folded_subject(self) -> str:
        return normalize_space(fold(self.subject))

    @cached_property
    def body(self) -> str:
        """The text the body phrases are looked for in."""
        return self.body_text if self.body_text.strip() else html_visible_text(self.body_html)

    @cached_property
    def folded_body(self) -> str:
        return normalize_space(fold(self.body))


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """One filter ready to match: patterns folded, phrases folded, folder resolved."""

    id: int | None
    name: str
    scope: str
    action: str
    order: int = 0
    sender: Pattern | None = None
    recipient: Pattern | None = None
    subject: Pattern | None = None
    body_any: tuple[str, ...] = ()
    body_all: tuple[str, ...] = ()
    group_folder: GroupEmailFolder | None = None
    folder_id: int | None = None
    folder_skips_notifications: bool = False  # EmailFolder.skip_notifications of the target
    mark_as_read: bool = False
    no_notification: bool = False

    @classmethod
    def from_model(cls, obj: EmailFilter) -> CompiledFilter:
        """Compile a filter row (saved or not); reads the target folder of a Move (select it
        with the row)."""
        group_folder = None
        if obj.action == Action.MOVE_TO_GROUP_FOLDER and obj.group_folder_id is not None:
            group_folder = obj.group_folder
        folder_id, folder_skips_notifications = None, False
        if obj.action == Action.MOVE_TO_FOLDER and obj.folder_id is not None:
            folder_id, folder_skips_notifications = obj.folder_id, obj.folder.skip_notifications
        return cls(
            id=obj.pk,
            name=obj.name,
            scope=obj.scope,
            action=obj.action,
            order=obj.order,
            sender=Pattern.compile(obj.from_pattern),
            recipient=Pattern.compile(obj.to_pattern),
            subject=Pattern.compile(obj.subject_pattern),
            body_any=_phrases(obj.body_contains_any),
            body_all=_phrases(obj.body_contains_all),
            group_folder=group_folder,
            folder_id=folder_id,
            folder_skips_notifications=folder_skips_notifications,
            mark_as_read=obj.mark_as_read,
            no_notification=obj.no_notification,
        )

    @property
    def label(self) -> str:
        """``name (#id)``: how the journal records the filter that skipped a message."""
        return f"{self.name} (#{self.id})"[:255]

    @property
    def has_criteria(self) -> bool:
        return bool(self.sender or self.recipient or self.subject or self.body_any or self.body_all)

    @property
    def needs_body(self) -> bool:
        """Whether deciding this filter needs the message body (not just its headers)."""
        return bool(self.body_any or self.body_all)

    @property
    def is_effective(self) -> bool:
        """Whether a match can do anything: it has criteria and its action is allowed and
        complete for its scope (a Move whose folder was deleted does nothing)."""
        if not self.has_criteria:
            return False
        if self.action not in EmailFilter.ALLOWED_ACTIONS.get(self.scope, ()):
            return False
        if self.action == Action.MOVE_TO_GROUP_FOLDER:
            return self.group_folder is not None
        return True

    def matches_headers(self, message: MessageView) -> bool:
        """Whether the header criteria (From, To/Cc, Subject) all match; True if none is set."""
        if self.sender is not None and not self.sender.matches(message.folded_sender):
            return False
        if self.subject is not None and not self.subject.matches(message.folded_subject):
            return False
        return self.recipient is None or any(
            self.recipient.matches(address) for address in message.folded_recipients
        )

    def matches_body(self, message: MessageView) -> bool:
        """Whether the body criteria match; True if none is set."""
        if not self.needs_body:
            return True
        body = message.folded_body
        if self.body_any and not any(phrase in body for phrase in self.body_any):
            return False
        return all(phrase in body for phrase in self.body_all)

    def matches(self, message: MessageView) -> bool:
        return self.has_criteria and self.matches_headers(message) and self.matches_body(message)


def _phrases(phrases) -> tuple[str, ...]:
    if not isinstance(phrases, list):
        return ()
    folded = (normalize_space(fold(p)) for p in phrases if isinstance(p, str))
    return tuple(p for p in folded if p)


def as_view(message: ParsedMessage | MessageView) -> MessageView:
    return message if isinstance(message, MessageView) else MessageView.from_parsed(message)


def first_match(
    filters: Sequence[CompiledFilter],
    message: ParsedMessage | MessageView,
    *,
    headers_only: bool = False,
) -> CompiledFilter | None:
    """The first filter, in order, that matches ``message``.

    With ``headers_only`` (the body is not downloaded yet) the answer is the filter that is
    certain to win: a filter that needs the body and whose header criteria match could win
    once the body is known, so then the answer is None ("not decidable on headers").
    A filter whose header criteria fail is out either way.
    """
    view = as_view(message)
    for compiled in filters:
        if not compiled.has_criteria or not compiled.matches_headers(view):
            continue
        if headers_only and compiled.needs_body:
            return None
        if compiled.matches_body(view):
            return compiled
    return None


class CompiledFilters:
    """Import-time filters of one account: global ones, then the account's, each by order."""

    def __init__(self, filters: Iterable[CompiledFilter] = ()) -> None:
        self.filters: tuple[CompiledFilter, ...] = tuple(filters)

    @classmethod
    def for_account(cls, account: MailAccount) -> CompiledFilters:
        """Compile the active filters that apply to ``account`` (one query)."""
        own = (
            Q(scope=Scope.GROUP_ACCOUNT, group_account_id=account.pk)
            if account.is_group
            else Q(scope=Scope.PERSONAL_ACCOUNT, personal_account_id=account.pk)
        )
        rows = (
            EmailFilter.objects.filter(is_active=True)
            .filter(Q(scope=Scope.GLOBAL) | own)
            .select_related("group_folder")
        )
        compiled = (CompiledFilter.from_model(row) for row in rows)
        return cls(
            sorted(
                (f for f in compiled if f.is_effective),
                key=lambda f: (f.scope != Scope.GLOBAL, f.order, f.id),
            )
        )

    def __iter__(self) -> Iterator[CompiledFilter]:
        return iter(self.filters)

    def __len__(self) -> int:
        return len(self.filters)

    @property
    def can_skip_on_headers(self) -> bool:
        """Whether some Skip filter needs only headers: then the fetcher should try
        ``headers_skip_filter`` before downloading bodies."""
        return any(f.action == Action.SKIP and not f.needs_body for f in self.filters)

    def first_match(
        self,
        message: ParsedMessage | MessageView,
        *,
        headers_only: bool = False,
        may_skip: bool = True,
    ) -> CompiledFilter | None:
        """The first filter that matches; ``may_skip=False`` passes over Skip filters."""
        filters = (
            self.filters if may_skip else tuple(f for f in self.filters if f.action != Action.SKIP)
        )
        return first_match(filters, message, headers_only=headers_only)


class UserFilters:
    """Inbox filters of users, compiled per user on first need and then kept.

    ``load`` fetches, in one query, the users not seen before; a run over many messages for
    the same users queries once.
    """

    def __init__(self) -> None:
        self._by_user: dict[int, tuple[CompiledFilter, ...]] = {}

    def load(self, user_ids: Iterable[int]) -> None:
        missing = {uid for uid in user_ids if uid not in self._by_user}
        if not missing:
            return
        by_user: dict[int, list[CompiledFilter]] = {uid: [] for uid in missing}
        rows = (
            EmailFilter.objects.filter(is_active=True, scope=Scope.USER_INBOX, user_id__in=missing)
            .select_related("folder")
            .order_by("order", "id")
        )
        for row in rows:
            compiled = CompiledFilter.from_model(row)
            if compiled.is_effective:
                by_user[row.user_id].append(compiled)
        self._by_user.update((uid, tuple(filters)) for uid, filters in by_user.items())

    def for_user(self, user_id: int) -> tuple[CompiledFilter, ...]:
        self.load([user_id])
        return self._by_user[user_id]

    def first_match(
        self, user_id: int, message: ParsedMessage | MessageView
    ) -> CompiledFilter | None:
        return first_match(self.for_user(user_id), message)
