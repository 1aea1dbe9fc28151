"""Step 4: tell person-written mail from automatic mail.

Automatic mail (auto-replies, out-of-office, bounces and delivery reports, feedback/abuse
reports, mailing-list and bulk mail, our own mail coming back) is still stored, but it never
opens a case and never gets an auto-reply.

This is the one place that decides whether a message is automatic and why. The ``kind`` is
the verdict (it keeps a case from opening); ``declared`` and ``signs`` are the markers and
signs that a machine sent the message, read more broadly (any one of them forbids an
auto-reply), and ``no_reply_sender`` tells the addresses that never read replies. The
auto-reply loop guard (cases.loop_guard) reads these and adds only its own checks.

The rules are the union of what EspoCRM, Zammad, FreeScout, osTicket, django-helpdesk, Odoo and
Chatwoot check (research/peers.md §2), plus content checks for bounces whose headers carry no
marker at all (provider notifications in JSON, list-manager rejections, MTAs that send from an
ordinary address). Those content checks are *weak*: wording alone never flags a message; it
takes wording plus a sign that a machine sent it (a system sender, an attached original).

It runs on every message: only header values, the subject and the first few KB of the body are
looked at, with precompiled patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crm.messages import Message
from mailboxes import messages
from mailboxes.linking.message_ids import is_our_message_id
from mailboxes.models.emails import Email

if TYPE_CHECKING:
    from mailboxes.intake.context import IntakeContext
    from mailboxes.intake.parse import ParsedMessage

AutoKind = Email.AutoKind

# How much of the body the content checks read.
BODY_SCAN_CHARS = 4096

# When several rules fire, the most specific kind wins.
_PRIORITY = {
    AutoKind.OWN: 100,
    AutoKind.FEEDBACK: 90,
    AutoKind.BOUNCE: 80,
    AutoKind.OUT_OF_OFFICE: 70,
    AutoKind.AUTO_REPLY: 60,
    AutoKind.LIST: 40,
    AutoKind.BULK: 30,
}


@dataclass
class Classification:
    """What step 4 found; ``kind`` is an ``Email.AutoKind`` value ("" for a person).

    ``declared``: the message says it is automatic (Auto-Submitted, X-Autoreply…). ``signs``:
    it looks machine-sent (Precedence, List-*, an empty Return-Path, a report). Both are read
    more broadly than ``kind`` (a header present at all counts), so a message can carry them
    and still open a case, but it never gets an auto-reply. First found first.
    """

    kind: str = ""
    reasons: list[Message] = field(default_factory=list)  # why ``kind``, as stored codes
    declared: list[Message] = field(default_factory=list)
    signs: list[Message] = field(default_factory=list)

    @property
    def is_auto_submitted(self) -> bool:
        """Automatic mail: never opens a case, never gets an auto-reply."""
        return bool(self.kind)

    def __str__(self) -> str:
        return "; ".join(str(r) for r in self.reasons)


# --- patterns ---------------------------------------------------------------------------------

# Local parts of delivery-system senders, compared with "-", "_", "." and spaces removed.
_DAEMON_LOCALPARTS = frozenset(
    {"mailerdaemon", "maildaemon", "mailerdeamon", "postmaster", "mailsystem", "maildelivery"}
)
# Senders that never read replies: never auto-replied to, whatever else the message says.
_NO_REPLY_LOCALPARTS = _DAEMON_LOCALPARTS | {
    "noreply",
    "donotreply",
    "dontreply",
    "noresponse",
    "bounce",
    "bounces",
    "autoreply",
    "autoresponder",
}
_NO_REPLY_PREFIX = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply|bounces?)[-+._]")
# Vendor auto-reply markers (any value but "no" makes an auto-reply; present at all: no reply).
_AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
# Precedence / X-Precedence words and the kind each means.
_PRECEDENCE_WORDS = {
    "bulk": AutoKind.BULK,
    "junk": AutoKind.BULK,
    "list": AutoKind.LIST,
    "auto_reply": AutoKind.AUTO_REPLY,
    "auto-reply": AutoKind.AUTO_REPLY,
}
# Report parts (RFC 6522 and the reports it carries).
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ARF_TYPE = "message/feedback-report"
_MDN_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
_REPORT_TYPES = frozenset({"multipart/report", _ARF_TYPE}) | _DSN_TYPES | _MDN_TYPES
_DAEMON_NAMES = frozenset(
    {"mailerdaemon", "postmaster", "maildeliverysystem", "maildeliverysubsystem", "mailsystem"}
)
# Senders that do not read replies; a weak signal only (web forms send as noreply@ with the
# customer in Reply-To, and those must still open cases).
_SYSTEM_LOCALPART = re.compile(
    r"^(?:no-?reply|do-?not-?reply|donotreply|noreply[\w-]*|[\w-]*-?admin|bounces?(?:[+-].*)?"
    r"|[\w-]*-bounces?(?:\+.*)?|mailman|majordomo|listserv|owner-[\w.-]+|[\w.-]+-owner"
    r"|[\w.-]+-request|auto-?reply|autoresponder|notifications?|abuse|fbl|feedback)$"
)

# Subjects, after any Re:/Fwd: prefixes. Delivery reports are worded by a handful of MTAs.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|fw|fwd|wg|tr|rv|sv|vs|ynt|ilt)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)
_BOUNCE_SUBJECT = re.compile(
    r"^(?:undeliverable(?:\s*:| mail| message)|undelivered mail|returned mail\s*:"
    r"|mail delivery failed|delivery status notification|failure notice"
    r"|non[- ]?deliver(?:y|able) (?:report|notification|mail)|mail system error"
    r"|warning: could not send message|message delivery has failed|delivery has failed"
    r"|permanent delivery failure|email bounce|bounce notification|notice of delivery failure"
    r"|nondeliverable mail|message status - undeliverable|delivery notification: delivery has"
    r"|unzustellbar|non remis|non recapitabile|iletilemedi|teslim edilemedi)",
    re.I,
)
# Wording a customer may use too ("Delivery problem with order 123"): evidence only.
_BOUNCE_SUBJECT_WEAK = re.compile(
    r"(?:delivery (?:failure|failed|problem|report|status|error)|mail (?:error|failure)"
    r"|failed delivery|not delivered|could not be delivered|delayed mail|undeliver"
    r"|returned (?:mail|to sender)|could not send|zustellung|メールエラー)",
    re.I,
)
_OOO_SUBJECT = re.compile(
    r"(?:out of (?:the )?office|\booo\b|away (?:until|from)|on vacation|on holiday|vacation"
    r"|abwesen|absence|absent|ausente|fuera de la oficina|hors du bureau|congés"
    r"|fuori ufficio|ofis dışı|izindeyim|izinde|不在)",
    re.I,
)
# Auto-reply subjects: explicit wording only ("Out of office" needs its colon or to stand
# alone, so "Out of office hours support" is still a customer's question).
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:auto(?:matic|matische)?[ -]?(?:reply|response|respons|antwort|answer)"
    r"|autoreply|autorespons|r[ée]ponse automatique|respuesta autom[áa]tica"
    r"|risposta automatica|otomatik (?:yan[ıi]t|cevap)|自動応答|自動返信"
    r"|(?:out of (?:the )?office|abwesenheitsnotiz|ofis dışında)"
    r"(?:\s+auto-?reply)?\s*(?::|$))",
    re.I,
)
_FEEDBACK_SUBJECT = re.compile(
    r"(?:abuse report|feedback report|complaint about message|spam ?trap|dmarc forensic"
    r"|fraud report|spam report)",
    re.I,
)

# Wording of delivery reports and list-manager rejections, in the first KB of the body.
_BOUNCE_BODY = re.compile(
    r"(?:could not be delivered|couldn't be delivered|was not delivered|delivery has failed"
    r"|delivery to the following recipient|permanent fatal error|following addresses? had"
    r"|undeliverable|undelivered mail|returned to sender|user unknown|unknown user"
    r"|no such user|mailbox (?:is )?(?:full|unavailable|not found)|quota exceeded"
    r"|over quota|recipient address rejected|address rejected|requested action not taken"
    r"|message was rejected|mail delivery (?:failed|subsystem)|delivery status notification"
    r"|this is the mail system at host|created automatically by mail delivery software"
    r"|i'm sorry to have to inform you|unable to deliver|delivery failed|invalid (?:user|recipient)"
    r"|\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b|smtp;\s*[45]\d\d\b|\bstatus:\s*[45]\.\d"
    r"|not a member of this (?:mailing )?list|you are not (?:a )?member"
    r"|duplicated message-id|loop alert|送信できませんでした|配信できませんでした"
    r"|宛先不明|届きませんでした)",
    re.I,
)
# Amazon SES notifications delivered through SNS as JSON.
# (an SNS envelope carries the SES message as an escaped JSON string)
_SES_JSON = re.compile(r'\\?"notificationType\\?"\s*:\s*\\?"(Bounce|Complaint|Delivery)\\?"')

_HTML_TAG = re.compile(r"<[^>]{0,500}>")


# --- rules ------------------------------------------------------------------------------------


def _localpart(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


def _header_lines(parsed: ParsedMessage, name: str) -> list[str]:
    value = parsed.headers.get(name)
    if value is None:
        return []
    return [line.strip() for line in value.split("\n")]


def _first_token(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def header_words(value: str) -> set[str]:
    """The lower-cased words of a header value (split on commas, semicolons, whitespace)."""
    return {w.strip().lower() for w in re.split(r"[,;\s]+", value) if w.strip()}


def _body_head(parsed: ParsedMessage) -> str:
    if parsed.body_text:
        return parsed.body_text[:BODY_SCAN_CHARS]
    if parsed.body_html:
        return _HTML_TAG.sub(" ", parsed.body_html[: BODY_SCAN_CHARS * 2])
    return ""


class _Findings:
    """Collects what the rules saw.

    ``strong`` findings decide alone. ``weak`` ones are *evidence* (wording of a delivery or
    abuse report) or *support* (a system sender, an attached message, no sender at all): a
    message is flagged on weak findings only with both evidence and support, so a customer's
    "my mail could not be delivered" (evidence alone) still opens a case.
    """

    def __init__(self) -> None:
        self.kind = ""
        self.reasons: list[Message] = []
        self.evidence: list[tuple[str, Message]] = []
        self.support: list[Message] = []
        self.null_sender = False

    def strong(self, kind: str, reason: Message) -> None:
        self.reasons.append(reason)
        if _PRIORITY[kind] > _PRIORITY.get(self.kind, 0):
            self.kind = kind

    def weak(self, kind: str, reason: Message) -> None:
        self.evidence.append((kind, reason))

    def supporting(self, reason: Message) -> None:
        self.support.append(reason)

    def result(self) -> Classification:
        weak_reasons = [reason for _kind, reason in self.evidence] + self.support
        if self.kind:
            return Classification(kind=self.kind, reasons=self.reasons + weak_reasons)
        if self.null_sender:
            # RFC 3834 auto-replies use the null sender too; nothing more specific was found
            return Classification(kind=AutoKind.BOUNCE, reasons=self.reasons + weak_reasons)
        if self.evidence and self.support:
            kind = max((k for k, _r in self.evidence), key=_PRIORITY.__getitem__)
            return Classification(kind=kind, reasons=weak_reasons)
        return Classification()


def _check_headers(parsed: ParsedMessage, found: _Findings) -> None:
    headers = parsed.headers
    subject = _PREFIX.sub("", parsed.subject or "")
    ooo = bool(_OOO_SUBJECT.search(subject))
    reply_kind = AutoKind.OUT_OF_OFFICE if ooo else AutoKind.AUTO_REPLY

    for value in _header_lines(parsed, "auto-submitted"):
        word = _first_token(value)
        if word and word != "no":
            found.strong(reply_kind, messages.AUTO_SUBMITTED_SEEN(value=word))
            break

    for name in _AUTO_REPLY_HEADERS:
        lines = _header_lines(parsed, name)
        if lines and _first_token(lines[0]) not in ("no", "false", "0"):
            found.strong(reply_kind, messages.AUTO_REPLY_HEADER_SEEN(header=name.title()))

    for name in ("precedence", "x-precedence"):
        for value in _header_lines(parsed, name):
            word = _first_token(value)
            kind = _PRECEDENCE_WORDS.get(word)
            if kind is not None:
                kind = reply_kind if kind == AutoKind.AUTO_REPLY else kind
                found.strong(kind, messages.PRECEDENCE_SEEN(header=name.title(), value=word))

    if "list-id" in headers:
        found.strong(AutoKind.LIST, messages.LIST_ID_SEEN())
    elif "list-unsubscribe" in headers:
        found.strong(AutoKind.BULK, messages.LIST_UNSUBSCRIBE_SEEN())

    if "x-failed-recipients" in headers:
        found.strong(AutoKind.BOUNCE, messages.FAILED_RECIPIENTS_SEEN())

    if "return-path" in headers and any(
        line in ("<>", "") for line in _header_lines(parsed, "return-path")
    ):
        found.null_sender = True
        found.reasons.append(messages.NULL_SENDER_SEEN())

    # the signature is checked, not just the domain: a stranger cannot pass mail off as ours
    if "x-postaci-loop" in headers or is_our_message_id(parsed.message_id):
        found.strong(AutoKind.OWN, messages.SENT_BY_POSTACI())

    for value in _header_lines(parsed, "x-loop"):
        if value.lower() in ("yes", "true", "1"):
            found.strong(AutoKind.AUTO_REPLY, messages.X_LOOP_SEEN())
        elif value:
            found.supporting(messages.X_LOOP_SEEN())
        break


def _check_structure(parsed: ParsedMessage, found: _Findings) -> None:
    types = set(parsed.part_types) | {parsed.content_type}
    if _ARF_TYPE in types:
        found.strong(AutoKind.FEEDBACK, messages.FEEDBACK_REPORT_SEEN())
    if types & _DSN_TYPES:
        found.strong(AutoKind.BOUNCE, messages.DSN_SEEN())
    elif "multipart/report" in types and not types & (_MDN_TYPES | {_ARF_TYPE}):
        found.strong(AutoKind.BOUNCE, messages.MULTIPART_REPORT_SEEN())
    if types & _MDN_TYPES:
        found.strong(AutoKind.AUTO_REPLY, messages.READ_RECEIPT_SEEN())
    if types & {"message/rfc822", "text/rfc822-headers", "message/global"}:
        found.supporting(messages.CARRIES_MESSAGE_SEEN())


def _squash(value: str) -> str:
    return re.sub(r"[-_. ]", "", value.lower())


def _check_sender(parsed: ParsedMessage, found: _Findings) -> None:
    sender = parsed.sender
    address = sender.address if sender else ""
    name = sender.name if sender else ""
    local = _localpart(address).lower()
    if _squash(local) in _DAEMON_LOCALPARTS or _squash(name) in _DAEMON_NAMES:
        found.strong(AutoKind.BOUNCE, messages.MAIL_SYSTEM_SENDER(sender=address or name))
    elif not address:
        found.supporting(messages.NO_SENDER_ADDRESS())
    elif _SYSTEM_LOCALPART.match(local) and all(
        _SYSTEM_LOCALPART.match(_localpart(r.address).lower()) for r in parsed.reply_to
    ):
        # a web form sending as noreply@ with the customer in Reply-To is not a system message
        found.supporting(messages.SYSTEM_ADDRESS_SENDER(sender=address))


def _check_subject(parsed: ParsedMessage, found: _Findings) -> None:
    subject = _PREFIX.sub("", parsed.subject or "").strip()
    if not subject:
        return
    if _BOUNCE_SUBJECT.match(subject):
        found.strong(AutoKind.BOUNCE, messages.BOUNCE_SUBJECT_SEEN(subject=subject))
    elif _AUTO_REPLY_SUBJECT.match(subject):
        kind = AutoKind.OUT_OF_OFFICE if _OOO_SUBJECT.search(subject) else AutoKind.AUTO_REPLY
        found.strong(kind, messages.AUTO_REPLY_SUBJECT_SEEN(subject=subject))
    elif _BOUNCE_SUBJECT_WEAK.search(subject):
        found.weak(AutoKind.BOUNCE, messages.BOUNCE_SUBJECT_SEEN(subject=subject))
    if _FEEDBACK_SUBJECT.search(subject):
        found.weak(AutoKind.FEEDBACK, messages.ABUSE_SUBJECT_SEEN(subject=subject))


def _check_body(parsed: ParsedMessage, found: _Findings) -> None:
    head = _body_head(parsed)
    if not head:
        return
    ses = _SES_JSON.search(head) if "notificationType" in head else None
    if ses:
        kind = {"Bounce": AutoKind.BOUNCE, "Complaint": AutoKind.FEEDBACK}.get(
            ses.group(1), AutoKind.AUTO_REPLY
        )
        found.strong(kind, messages.SES_NOTIFICATION_SEEN(type=ses.group(1)))
        return
    if not found.support:
        return  # bounce wording alone never flags (see _Findings): skip the costly scan
    match = _BOUNCE_BODY.search(head)
    if match:
        found.weak(AutoKind.BOUNCE, messages.BOUNCE_WORDING_SEEN(words=match.group(0)))


# --- never an auto-reply -----------------------------------------------------------------------


def _declared(headers: dict[str, str]) -> list[Message]:
    """The message says it is automatic: RFC 3834 Auto-Submitted, vendors' X-Autoreply…"""
    found = []
    for line in headers.get("auto-submitted", "").split("\n"):
        word = _first_token(line)
        if word and word != "no":
            found.append(messages.AUTO_SUBMITTED(value=word))
            break
    found += [
        messages.AUTO_REPLY_HEADER(header=name.title())
        for name in _AUTO_REPLY_HEADERS
        if name in headers
    ]
    return found


def _signs(headers: dict[str, str], content_types: set[str]) -> list[Message]:
    """The message looks machine-sent: bulk or list mail, a null sender, a report."""
    found = []
    for name in ("precedence", "x-precedence"):
        words = header_words(headers.get(name, "")) & _PRECEDENCE_WORDS.keys()
        if words:
            found.append(messages.BULK(header=name.title(), value=min(words)))
    if "list-id" in headers or "list-unsubscribe" in headers:
        found.append(messages.MAILING_LIST())
    if "return-path" in headers and any(
        line.strip() in ("", "<>") for line in headers["return-path"].split("\n")
    ):
        found.append(messages.EMPTY_RETURN_PATH())
    if content_types & _REPORT_TYPES:
        found.append(messages.REPORT())
    return found


def no_reply_sender(address: str) -> Message | None:
    """Why ``address`` (bare, lower-case) never gets an auto-reply: a delivery system or a
    no-reply address; None for anybody else.

    Broader than the classifier's system-sender support: a web form's noreply@ still opens a
    case (the customer is in Reply-To), but noreply@ itself is never answered.
    """
    local = address.rpartition("@")[0]
    if _squash(local) in _NO_REPLY_LOCALPARTS or _NO_REPLY_PREFIX.match(local):
        return messages.NO_REPLY_SENDER(sender=address)
    return None


# --- entry points -----------------------------------------------------------------------------


def classify(parsed: ParsedMessage) -> Classification:
    """Classify one parsed message; pure (reads settings, no database)."""
    found = _Findings()
    _check_headers(parsed, found)
    _check_structure(parsed, found)
    _check_sender(parsed, found)
    _check_subject(parsed, found)
    if not (found.kind or found.null_sender):  # read the body only when nothing decided yet
        _check_body(parsed, found)
    result = found.result()
    result.declared = _declared(parsed.headers)
    result.signs = _signs(parsed.headers, {parsed.content_type, *parsed.part_types})
    return result


def classify_stored(email: Email) -> Classification:
    """The classification of a stored email: step 4's verdict as stored, the markers and
    signs read again from the headers it kept (its MIME structure is not kept)."""
    headers = email.headers or {}
    return Classification(
        kind=email.auto_kind, declared=_declared(headers), signs=_signs(headers, set())
    )


def classify_step(ctx: IntakeContext) -> IntakeContext:
    """Pipeline step 4: set ``ctx.classification``."""
    if ctx.parsed is not None:
        ctx.classification = classify(ctx.parsed)
    return ctx


def is_automatic(ctx: IntakeContext) -> bool:
    """Whether the context's email is automatic mail (opens no case, reopens none): step 4's
    verdict, or the stored one when this run did not classify it."""
    if ctx.classification is not None:
        return ctx.classification.is_auto_submitted
    return bool(ctx.email.auto_kind)
