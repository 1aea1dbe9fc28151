"""The auto-reply loop guard: every peer's rule in one place (research/peers.md §2, §7.8).

``auto_reply_refusal`` says why an auto-reply must not be sent, or None when it may. It
refuses on the union of what EspoCRM, Zammad, FreeScout, osTicket, django-helpdesk, Odoo and
Chatwoot check, plus per-sender and per-case rate limits counted from ``AutoReplyLog``.
``auto_reply_decide`` runs it and records the decision, so every refusal is visible on the
email it concerns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from cases import messages
from cases.models import AutoReplyLog, Case
from crm.addresses import normalize_address
from crm.messages import Message
from mailboxes.intake.classify import classify, own_message_id
from mailboxes.models import Email, GroupEmailAccount, MailAccount

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedMessage

# Local parts (with "-", "_", "." removed) of senders that must never get an auto-reply.
_NO_REPLY_LOCALPARTS = frozenset(
    {
        "mailerdaemon",
        "maildaemon",
        "postmaster",
        "noreply",
        "donotreply",
        "dontreply",
        "noresponse",
        "bounce",
        "bounces",
        "autoreply",
        "autoresponder",
    }
)
_NO_REPLY_PREFIX = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply|bounces?)[-+._]")
_SUPPRESS_TOKENS = frozenset({"all", "autoreply", "oof"})
_PRECEDENCE_TOKENS = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_REPORT_TYPES = frozenset(
    {
        "multipart/report",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/feedback-report",
        "message/disposition-notification",
    }
)


@dataclass
class GuardedMessage:
    """What the guard reads, from a ``ParsedMessage`` or a stored ``Email``."""

    sender: str
    message_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)  # References + In-Reply-To
    content_types: set[str] = field(default_factory=set)
    auto_kind: str = ""  # the classifier's verdict

    @classmethod
    def from_parsed(cls, parsed: ParsedMessage, auto_kind: str | None = None) -> GuardedMessage:
        """``auto_kind``: the classification step 4 already made (classified again if None)."""
        refs = list(parsed.references)
        if parsed.in_reply_to:
            refs.append(parsed.in_reply_to)
        return cls(
            sender=parsed.sender.address if parsed.sender else "",
            message_id=parsed.message_id,
            headers=parsed.headers,
            references=refs,
            content_types={parsed.content_type, *parsed.part_types},
            auto_kind=classify(parsed).kind if auto_kind is None else auto_kind,
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
            auto_kind=email.auto_kind,
        )


def _words(value: str) -> set[str]:
    return {w.strip().lower() for w in re.split(r"[,;\s]+", value) if w.strip()}


def references_our_message(references: list[str]) -> bool:
    """Whether any referenced Message-ID is one Postaci generated (signature verified by
    ``mailboxes.message_ids``, so a forged reference does not count)."""
    return any(own_message_id(ref) for ref in references)


def our_addresses() -> set[str]:
    """Every address Postaci sends or receives as: all mailboxes, auto-reply From, system."""
    addresses = set(MailAccount.objects.values_list("email_address", flat=True))
    addresses |= set(
        GroupEmailAccount.objects.exclude(auto_reply_from_address="").values_list(
            "auto_reply_from_address", flat=True
        )
    )
    for setting in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        addresses.add(parseaddr(getattr(settings, setting, "") or "")[1])
    return {normalize_address(a) for a in addresses} - {""}


def _header_refusal(message: GuardedMessage) -> Message | None:
    headers = message.headers
    for line in headers.get("auto-submitted", "").split("\n"):
        word = line.split(";", 1)[0].strip().lower()
        if word and word != "no":
            return messages.AUTO_SUBMITTED(value=word)
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in headers:
            return messages.AUTO_REPLY_HEADER(header=name.title())
    suppress = _words(headers.get("x-auto-response-suppress", "")) & _SUPPRESS_TOKENS
    if suppress:
        return messages.SUPPRESSED(value=", ".join(sorted(suppress)))
    for name in ("precedence", "x-precedence"):
        precedence = _words(headers.get(name, "")) & _PRECEDENCE_TOKENS
        if precedence:
            return messages.BULK(header=name.title(), value=min(precedence))
    if "list-id" in headers or "list-unsubscribe" in headers:
        return messages.MAILING_LIST()
    if "return-path" in headers and any(
        line.strip() in ("", "<>") for line in headers["return-path"].split("\n")
    ):
        return messages.EMPTY_RETURN_PATH()
    return None


def _our_loop_refusal(message: GuardedMessage, ours: set[str]) -> Message | None:
    if "x-postaci-loop" in message.headers:
        return messages.POSTACI_LOOP()
    x_loop = message.headers.get("x-loop", "").lower()
    domain = settings.POSTACI_MESSAGE_ID_DOMAIN.lower()
    if x_loop and (any(a in x_loop for a in ours) or (domain and domain in x_loop)):
        return messages.X_LOOP(value=x_loop)
    if own_message_id(message.message_id) or references_our_message(message.references):
        return messages.OWN_MAIL()
    if message.sender in ours:
        return messages.OWN_ADDRESS(sender=message.sender)
    return None


def _kind_refusal(message: GuardedMessage) -> Message | None:
    if message.content_types & _REPORT_TYPES:
        return messages.REPORT()
    local = message.sender.rpartition("@")[0]
    if re.sub(r"[-_.]", "", local) in _NO_REPLY_LOCALPARTS or _NO_REPLY_PREFIX.match(local):
        return messages.NO_REPLY_SENDER(sender=message.sender)
    return None


def _classifier_refusal(message: GuardedMessage) -> Message | None:
    if message.auto_kind:
        return messages.AUTOMATIC(kind=message.auto_kind)  # labelled when shown
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
            group = account.specific
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
    reason = _header_refusal(message) or _kind_refusal(message)
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
    auto_kind: str | None = None,
    sender: str | None = None,
    now: datetime | None = None,
) -> AutoReplyLog:
    """Run the guard for ``email`` and record the outcome (sent = may be sent now).

    Call it inside the transaction that queues the auto-reply, so the rate limit sees it.
    """
    message = GuardedMessage.from_parsed(parsed, auto_kind) if parsed is not None else email
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
