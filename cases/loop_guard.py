"""The auto-reply loop guard: every peer's rule in one place (research/peers.md §2, §7.8).

``auto_reply_refusal`` says why an auto-reply must not be sent, or None when it may. It
refuses on the union of what EspoCRM, Zammad, FreeScout, osTicket, django-helpdesk, Odoo and
Chatwoot check. Whether the message is automatic is step 4's decision
(``mailboxes.intake.classify``: its markers, signs, no-reply senders and verdict); the guard
adds only its own: X-Auto-Response-Suppress, mail that went through us (X-Postaci-Loop,
X-Loop, our addresses and signed Message-IDs) and per-sender and per-case rate limits counted
from ``AutoReplyLog``.
``auto_reply_decide`` runs it and records the decision, so every refusal is visible on the
email it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from cases import messages
from cases.account_settings import auto_reply_from_addresses, case_settings_of
from cases.models import AutoReplyLog, Case
from crm.addresses import normalize_address
from crm.messages import Message
from mailboxes.intake.classify import (
    Classification,
    classify,
    classify_stored,
    header_words,
    no_reply_sender,
)
from mailboxes.linking.message_ids import is_our_message_id
from mailboxes.models import Email, MailAccount

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedMessage

# X-Auto-Response-Suppress words that ask for no auto-reply (Microsoft's "DR, RN" are receipts).
_SUPPRESS_TOKENS = frozenset({"all", "autoreply", "oof"})


@dataclass
class GuardedMessage:
    """What the guard reads, from a ``ParsedMessage`` or a stored ``Email``."""

    sender: str
    message_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)  # References + In-Reply-To
    classification: Classification = field(default_factory=Classification)  # step 4's

    @classmethod
    def from_parsed(
        cls, parsed: ParsedMessage, classification: Classification | None = None
    ) -> GuardedMessage:
        """``classification``: the one step 4 already made (classified again if None)."""
        refs = list(parsed.references)
        if parsed.in_reply_to:
            refs.append(parsed.in_reply_to)
        return cls(
            sender=parsed.sender.address if parsed.sender else "",
            message_id=parsed.message_id,
            headers=parsed.headers,
            references=refs,
            classification=classify(parsed) if classification is None else classification,
        )

    @classmethod
    def from_email(cls, email: Email) -> GuardedMessage:
        refs = email.reference_ids
        if email.in_reply_to:
            refs.append(email.in_reply_to)
        return cls(
            sender=email.from_email,
            message_id=email.message_id,
            headers=email.headers or {},
            references=refs,
            classification=classify_stored(email),
        )


def references_our_message(references: list[str]) -> bool:
    """Whether any referenced Message-ID is one Postaci generated (signature verified by
    ``mailboxes.linking.message_ids``, so a forged reference does not count)."""
    return any(is_our_message_id(ref) for ref in references)


def our_addresses() -> set[str]:
    """Every address Postaci sends or receives as: all mailboxes, auto-reply From, system."""
    addresses = set(MailAccount.objects.values_list("email_address", flat=True))
    addresses |= auto_reply_from_addresses()
    for setting in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        addresses.add(parseaddr(getattr(settings, setting, "") or "")[1])
    return {normalize_address(a) for a in addresses} - {""}


def _suppress_refusal(message: GuardedMessage) -> Message | None:
    """The sender asks for no auto-reply (Microsoft's X-Auto-Response-Suppress)."""
    suppress = header_words(message.headers.get("x-auto-response-suppress", "")) & _SUPPRESS_TOKENS
    if suppress:
        return messages.SUPPRESSED(value=", ".join(sorted(suppress)))
    return None


def _automatic_refusal(message: GuardedMessage) -> Message | None:
    """Step 4's reasons: what the message says of itself, what the sender asks, what it looks
    like, and whether its (reply) address takes replies at all."""
    found = message.classification
    return (
        next(iter(found.declared), None)
        or _suppress_refusal(message)
        or next(iter(found.signs), None)
        or no_reply_sender(message.sender)
    )


def _our_loop_refusal(message: GuardedMessage, ours: set[str]) -> Message | None:
    if "x-postaci-loop" in message.headers:
        return messages.POSTACI_LOOP()
    x_loop = message.headers.get("x-loop", "").lower()
    domain = settings.POSTACI_MESSAGE_ID_DOMAIN.lower()
    if x_loop and (any(a in x_loop for a in ours) or (domain and domain in x_loop)):
        return messages.X_LOOP(value=x_loop)
    if is_our_message_id(message.message_id) or references_our_message(message.references):
        return messages.OWN_MAIL()
    if message.sender in ours:
        return messages.OWN_ADDRESS(sender=message.sender)
    return None


def _classifier_refusal(message: GuardedMessage) -> Message | None:
    if message.classification.kind:
        return messages.AUTOMATIC(kind=message.classification.kind)  # labelled when shown
    return None


@dataclass(frozen=True)
class RateLimits:
    """Auto-replies allowed per sender address and per case within ``period`` seconds."""

    sender: int
    case: int
    period: int

    @classmethod
    def of(cls, account: MailAccount | None) -> RateLimits:
        """The group account's own limits; the environment's for anything else."""
        if account is not None and account.is_group:
            group = case_settings_of(account.specific)
            return cls(
                sender=group.auto_reply_sender_limit,
                case=group.auto_reply_case_limit,
                period=group.auto_reply_period_minutes * 60,
            )
        return cls(
            sender=settings.POSTACI_AUTO_REPLY_LIMIT,
            case=settings.POSTACI_AUTO_REPLY_CASE_LIMIT,
            period=settings.POSTACI_AUTO_REPLY_PERIOD,
        )


def _rate_refusal(
    sender: str, case: Case | None, now: datetime, limits: RateLimits
) -> Message | None:
    """Per-sender and per-case limits, counted in one query on the log's indexes."""
    since = now - timedelta(seconds=limits.period)
    by_sender = Q(sender_address=sender)
    aggregates = {"sender": Count("pk", filter=by_sender)}
    condition = by_sender
    if case is not None and case.pk:
        by_case = Q(case_id=case.pk)
        aggregates["case"] = Count("pk", filter=by_case)
        condition |= by_case
    counts = AutoReplyLog.objects.filter(
        condition, outcome=AutoReplyLog.Outcome.SENT, created_at__gte=since
    ).aggregate(**aggregates)
    period = messages.period_message(limits.period)
    if counts["sender"] >= limits.sender:
        return messages.SENDER_LIMIT(count=counts["sender"], limit=limits.sender, period=period)
    if counts.get("case", 0) >= limits.case:
        return messages.CASE_LIMIT(
            count=counts["case"], limit=limits.case, case=case.display_number, period=period
        )
    return None


def auto_reply_refusal(
    *,
    message: ParsedMessage | Email | GuardedMessage,
    account: MailAccount | None = None,
    sender: str | None = None,
    case: Case | None = None,
    now: datetime | None = None,
) -> Message | None:
    """Why no auto-reply may answer ``message``; None when one may.

    ``sender`` overrides the message's From address (e.g. when replying to Reply-To). The
    reason is a message (code and parameters): store it as it is, it reads in the language
    of whoever looks at it.
    """
    if not isinstance(message, GuardedMessage):
        message = (
            GuardedMessage.from_email(message)
            if isinstance(message, Email)
            else GuardedMessage.from_parsed(message)
        )
    address = normalize_address(sender if sender is not None else message.sender)
    if not address:
        return messages.NO_SENDER()
    message.sender = address
    reason = _automatic_refusal(message)
    if reason:
        return reason
    ours = our_addresses()
    if account is not None:
        ours.add(normalize_address(account.email_address))
    reason = _our_loop_refusal(message, ours) or _classifier_refusal(message)
    if reason:
        return reason
    return _rate_refusal(address, case, now or timezone.now(), RateLimits.of(account))


def auto_reply_decide(
    *,
    email: Email,
    account: MailAccount,
    case: Case | None = None,
    parsed: ParsedMessage | None = None,
    classification: Classification | None = None,
    sender: str | None = None,
    now: datetime | None = None,
) -> AutoReplyLog:
    """Run the guard for ``email`` and record the outcome (sent = may be sent now).

    Call it inside the transaction that queues the auto-reply, so the rate limit sees it.
    """
    message = GuardedMessage.from_parsed(parsed, classification) if parsed is not None else email
    reason = auto_reply_refusal(message=message, account=account, sender=sender, case=case, now=now)
    address = normalize_address(sender if sender is not None else email.from_email)
    return AutoReplyLog.objects.create(
        email=email,
        account=account,
        sender_address=address,
        case=case,
        outcome=AutoReplyLog.Outcome.REFUSED if reason else AutoReplyLog.Outcome.SENT,
        reason=reason or Message(),
        created_at=now or timezone.now(),
    )
