"""Read a bounce: which recipients failed, hard or soft, with the status code and the
server's own words.

Pure (no database): the raw bytes of a message step 4 classified as a bounce in, a list of
``Failure`` out. An unreadable bounce gives ``[]``, never an exception, so the intake just
stores it as before.

Sources, most trusted first, merged per address:

1. the DSN fields (RFC 3464 ``message/delivery-status``: Final-/Original-Recipient, Action,
   Status, Diagnostic-Code); a recipient whose Action is delivered/relayed/expanded did not
   fail;
2. ``X-Failed-Recipients`` (Exim and others);
3. the JSON of an Amazon SES bounce notification (``bouncedRecipients``);
4. flufl.bounce's detectors, which know the non-standard formats of many MTAs (qmail,
   Postfix, Exim, Exchange, Yahoo…) and say permanent or temporary;
5. the human-readable text: the SMTP reply near the address (``550 5.1.1``) gives the status
   and so the class when nothing above did, else wording such as "mailbox full".

Hard or soft follows RFC 3463: a 5.x.x status is hard, 4.x.x is soft; a full mailbox (x.2.2)
is soft whatever its first digit (many servers answer 552 for a full mailbox that empties
later), and so is a refusal of the *message* rather than the address (x.7.x policy and spam,
x.6.x media, x.2.3 / x.3.4 size): the address may well work for the next message.
"""

from __future__ import annotations

import email
import json
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

logger = logging.getLogger(__name__)
# flufl.bounce logs every detector it tries at INFO: a line per detector per bounce
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

# What is read of the human-readable text, and of a diagnostic kept as evidence.
TEXT_CHARS = 60_000
DIAGNOSTIC_CHARS = 500

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_NOT_FAILED_ACTIONS = ("delivered", "relayed", "expanded")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# an SMTP reply: basic code, optionally followed by an enhanced status
_SMTP_REPLY = re.compile(
    r"(?<![\w.])([45])([0-5])\d(?:[ -]|\)|$)(?:\s*#?\s*([45]\.\d{1,3}\.\d{1,3}))?", re.M
)
# wording, when no code says it: soft (a full or over-quota mailbox, a delay) first
_SOFT_WORDS = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed)|exceed(?:s|ed)? (?:the |its )?"
    r"(?:storage|quota|mailbox size)|insufficient (?:system )?storage|mailbox size limit"
    r"|has not yet been delivered|will (?:retry|continue trying|be retried)|delayed|temporar"
    r"|giving up|could not (?:be )?deliver(?:ed)? for|too long in (?:the )?queue|expired"
    r"|timed out|connection refused",
    re.I,
)
_HARD_WORDS = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|person|domain)"
    r"|(?:mailbox|recipient|address|user|account|domain|host)(?: \S+)? (?:does not|doesn't) exist"
    r"|(?:mailbox|account|user|recipient) (?:is )?(?:disabled|unavailable|inactive|suspended"
    r"|not found)"
    r"|invalid (?:recipient|mailbox|address|user)|unknown (?:recipient|address|local.?part)"
    r"|recipient (?:address )?rejected|(?:host|domain)\b[^\n]{0,60}\bnot found"
    r"|unrouteable|undeliverable|not (?:a )?valid (?:user|mailbox|recipient)|bad destination"
    r"|permanent(?:ly)? (?:error|fail)|could not be delivered|delivery (?:has )?failed"
    r"|rejected|refused|unrecoverable",
    re.I,
)
# wording about the message rather than the address (spam, policy, size): soft, counted
_MESSAGE_WORDS = re.compile(
    r"blocked|spam|blacklist|block ?list|policy|message (?:is )?too (?:big|large)|size limit"
    r"|message size|dmarc|dkim|spf",
    re.I,
)


# RFC 3463 codes about the message, not the address: X.6.x media, X.7.x security and
# policy (spam, DMARC, a block list), X.2.3 / X.3.4 too big. Counted like soft bounces.
_MESSAGE_SUBJECTS = frozenset({"6", "7"})
_MESSAGE_DETAILS = frozenset({("2", "3"), ("3", "4")})


_MESSAGE_IDS = re.compile(rb"(?im)^(?:message-id|in-reply-to|references):[ \t]*<([^<>\s]+)>")


@dataclass(frozen=True)
class Failure:
    """One recipient a bounce says the message did not reach."""

    address: str  # lower-cased
    hard: bool
    status: str = ""  # RFC 3463 "5.1.1", "" when no code was given
    diagnostic: str = ""  # the server's words (evidence, kept verbatim, never translated)


@dataclass
class _Found:
    address: str
    hard: bool | None = None
    status: str = ""
    diagnostic: str = ""
    flufl: bool | None = None  # flufl.bounce's permanent/temporary, when nothing says more


def classify_status(status: str) -> bool | None:
    """Hard (True), soft (False) or unknown (None) for an RFC 3463 status code."""
    match = _STATUS.fullmatch(status.strip())
    if match is None:
        return None
    klass, subject, detail = match.groups()
    if (subject, detail) == ("2", "2"):  # mailbox full: it may empty
        return False
    if subject in _MESSAGE_SUBJECTS or (subject, detail) in _MESSAGE_DETAILS:
        return False  # the message was refused (policy, content, size), not the address
    if klass == "5":
        return True
    if klass == "4":
        return False
    return None


def read_bounce(raw: bytes) -> list[Failure]:
    """The failed recipients of a bounce; [] when none can be read (never raises)."""
    try:
        return _read(raw)
    except Exception:
        logger.warning("A bounce could not be read", exc_info=True)
        return []


def _read(raw: bytes) -> list[Failure]:
    message = email.message_from_bytes(raw, policy=policy.compat32)
    # the bounce's own addressees, and Message-IDs (which look like addresses to a heuristic)
    own = _own_addresses(message) | {
        value.decode("ascii", "replace").lower() for value in _MESSAGE_IDS.findall(raw)
    }
    found: dict[str, _Found] = {}

    def add(address: str) -> _Found | None:
        address = _clean(address)
        if not address or address in own:
            return None
        return found.setdefault(address, _Found(address))

    has_dsn = _from_dsn(message, add)
    for address in _header_addresses(message, "x-failed-recipients"):
        add(address)
    text = _human_text(message)
    if not has_dsn:
        _from_dsn_text(text, add)
    _from_ses(text, add)
    _from_flufl(message, add)
    if not found:
        _from_text_addresses(text, add)
    _classify_from_text(text, found)
    return [
        Failure(
            address=item.address,
            hard=item.hard,
            status=item.status,
            diagnostic=item.diagnostic[:DIAGNOSTIC_CHARS],
        )
        for item in found.values()
        if item.hard is not None
    ]


# --- addresses -------------------------------------------------------------------------------


def _clean(address: str) -> str:
    address = address.strip().strip("<>\"'").strip()
    if ";" in address:  # "rfc822; someone@example.com"
        address = address.split(";", 1)[1].strip().strip("<>")
    address = parseaddr(address)[1] or address
    address = address.strip("<>.,;:").lower()
    if len(address) > 320 or not _ADDRESS.fullmatch(address):
        return ""
    return address


def _header_addresses(message: Message, name: str) -> list[str]:
    values = [str(value) for value in message.get_all(name, [])]
    return [address for _name, address in getaddresses(values) if address]


def _own_addresses(message: Message) -> set[str]:
    """The bounce's own sender and addressees: never the recipient that failed."""
    own = set()
    for name in ("from", "to", "return-path", "sender"):
        for address in _header_addresses(message, name):
            own.add(address.lower())
    return own


# --- the DSN fields --------------------------------------------------------------------------


def _dsn_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    data = part.get_payload(decode=True) or b""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return [
        email.message_from_string(block.strip() + "\n", policy=policy.compat32)
        for block in re.split(r"\n\s*\n", text)
        if block.strip()
    ]


def _from_dsn(message: Message, add) -> bool:
    """The per-recipient blocks of every delivery-status part; True when there was one."""
    seen = False
    for part in message.walk():
        if part.get_content_type() in _DSN_TYPES:
            seen = True
            for block in _dsn_blocks(part):
                _dsn_block(block, add)
    return seen


_DSN_TEXT_BLOCK = re.compile(r"(?ims)^(?:original|final)-recipient:.*?(?=\n[ \t]*\n|\Z)")


def _from_dsn_text(text: str, add) -> None:
    """DSN fields that reached the text because the MIME structure is broken (a boundary
    with a space before it, say)."""
    for match in _DSN_TEXT_BLOCK.finditer(text):
        _dsn_block(email.message_from_string(match.group(0) + "\n", policy=policy.compat32), add)


def _dsn_block(block: Message, add) -> None:
    recipient = block.get("final-recipient") or block.get("original-recipient")
    if not recipient:
        return
    action = str(block.get("action", "")).strip().lower()
    if action.startswith(_NOT_FAILED_ACTIONS):
        return
    item = add(str(recipient))
    if item is None:
        return
    status_match = _STATUS.search(str(block.get("status", "")))
    diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
    if ";" in diagnostic[:12]:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    status = ".".join(status_match.groups()) if status_match else ""
    if status.startswith("2") or status.endswith(".0.0"):
        # a generic or success code: the diagnostic's own code says more
        better = _STATUS.search(diagnostic)
        if better and not better.group(0).startswith("2"):
            status = better.group(0)
    item.status = item.status or status
    item.diagnostic = item.diagnostic or diagnostic
    hard = classify_status(status) if status else None
    if hard is not None and status.endswith(".0.0") and diagnostic:
        hard = _words_class(diagnostic, default=hard)
    if hard is None and diagnostic:
        hard = _reply_class(diagnostic)
    if hard is None:
        if action.startswith("delayed"):
            hard = False
        elif action.startswith(("fail", "error")):
            hard = _words_class(diagnostic, default=True)
    if item.hard is None:
        item.hard = hard


# --- other formats ---------------------------------------------------------------------------


def _from_ses(text: str, add) -> None:
    """Amazon SES notifications in JSON: a Bounce names its recipients (a Delivery or a
    Complaint is no bounce)."""
    start = text.find("{")
    if start < 0 or ("notificationType" not in text and "eventType" not in text):
        return
    try:
        data, _end = json.JSONDecoder(strict=False).raw_decode(text[start:])
    except ValueError:
        return
    if isinstance(data, dict) and isinstance(data.get("Message"), str):  # through SNS
        try:
            data = json.loads(data["Message"], strict=False)
        except ValueError:
            return
    if not isinstance(data, dict):
        return
    if (data.get("notificationType") or data.get("eventType")) != "Bounce":
        return
    bounce = data.get("bounce") or {}
    transient = bounce.get("bounceType") == "Transient"
    for recipient in bounce.get("bouncedRecipients") or []:
        item = add(str(recipient.get("emailAddress", "")))
        if item is None:
            continue
        status = str(recipient.get("status") or "")
        item.status = item.status or status
        item.diagnostic = item.diagnostic or str(recipient.get("diagnosticCode") or "")
        if item.hard is None:
            hard = classify_status(status) if status else None
            item.hard = (not transient) if hard is None else hard


def _from_flufl(message: Message, add) -> None:
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        logger.debug("flufl.bounce failed on a bounce", exc_info=True)
        return
    for addresses, hard in ((permanent, True), (temporary, False)):
        for value in sorted(addresses):
            address = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            item = add(address)
            if item is not None and item.hard is None:
                item.flufl = hard


# Lines that name the failed recipient in the common non-standard formats.
_RECIPIENT_LINES = re.compile(
    r"(?:^|\n)[ \t]*(?:(?:>>>|\*|--|delivery failed:|[\w.-]+:\d+:)[ \t]*)?(?:"
    r"<(?P<a1>[^<>\s@]+@[^<>\s]+)>:?"  # qmail, Postfix, Courier: "<addr>:"
    # sendmail "addr... User unknown", Exchange "addr<mailto:addr>", an address alone
    r"|(?P<a2>[^<>\s@:\"]+@[\w.-]+\.\w+)(?=\.\.\.|:|\s+\(|\s*<|\s*\[|\s+on\s|[ \t]*(?:\n|$))"
    r"|(?:original|final|failed)[ -]?recipient[^\n:]*:\s*(?:rfc822;)?\s*"
    r"<?(?P<a3>[^<>\s]+@[^<>\s]+)>?"
    r"|(?:recipient|address|to|email)(?: address)?:\s*<?(?P<a4>[^<>\s]+@[^<>\s]+)>?"
    r")"
    r"|RCPT TO:\s*<(?P<a5>[^<>\s]+@[^<>\s]+)>"
    r"|(?:delivered|delivering (?:your )?(?:mail|message)|sent) to:?\s+<?"
    r"(?P<a6>[^<>\s@]+@[\w.-]+\w)",
    re.I,
)


def _from_text_addresses(text: str, add) -> None:
    """The recipient lines of bounces no detector knew (only when nothing else named one)."""
    for match in _RECIPIENT_LINES.finditer(text):
        address = next(value for value in match.groups() if value)
        add(address)


# --- the class and status from the human-readable text ---------------------------------------


def _human_text(message: Message) -> str:
    """The bounce's own text parts (not the original it carries), decoded, capped."""
    chunks: list[str] = []
    size = 0
    stack = [message]
    while stack and size < TEXT_CHARS:
        part = stack.pop(0)
        content_type = part.get_content_type()
        if part.is_multipart():
            if content_type in _DSN_TYPES:
                continue
            payload = part.get_payload()
            if isinstance(payload, list):
                stack[:0] = [p for p in payload if isinstance(p, Message)]
            continue
        if content_type.startswith("message/") or content_type == "text/rfc822-headers":
            continue
        if part.get_content_maintype() != "text" and part is not message:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = data.decode(charset, "replace")
        except LookupError:
            text = data.decode("utf-8", "replace")
        if content_type == "text/html":
            text = re.sub(r"<[^>]+>", " ", text)
        chunks.append(text)
        size += len(text)
    return "\n".join(chunks).replace("\r\n", "\n")[:TEXT_CHARS]


def _words_class(text: str, *, default: bool | None) -> bool | None:
    if _SOFT_WORDS.search(text) or _MESSAGE_WORDS.search(text):
        return False
    if _HARD_WORDS.search(text):
        return True
    return default


def _reply_class(text: str) -> bool | None:
    """The class from an SMTP reply or status code in ``text`` (None: no code in it)."""
    status = _STATUS.search(text)
    if status and status.group(1) != "2":
        code = status.group(0)
        if code.endswith(".0.0"):  # a generic code: the words say more
            return _words_class(text, default=classify_status(code))
        return classify_status(code)
    reply = _SMTP_REPLY.search(text)
    if reply is None:
        return None
    if reply.group(3):
        return classify_status(reply.group(3))
    if reply.group(1) == "4":
        return False
    if _MESSAGE_WORDS.search(text):  # "550 rejected as spam": the message, not the address
        return False
    if _HARD_WORDS.search(text):  # "550 User unknown", whatever else follows
        return True
    return _words_class(text, default=True)  # 5xx: hard unless it speaks of a full mailbox


def _near(text: str, address: str, others: list[str]) -> str:
    """The text from the address's first mention on (where its SMTP reply usually is), up to
    where another failed recipient is named."""
    lower = text.lower()
    index = lower.find(address)
    if index < 0:
        return ""
    end = index + 600
    for other in others:
        if other != address and address not in other:
            at = lower.find(other, index + len(address))
            if 0 <= at < end:
                end = at
    return text[index:end]


def _classify_from_text(text: str, found: dict[str, _Found]) -> None:
    overall: bool | None = None
    overall_done = False
    for item in found.values():
        near = _near(text, item.address, list(found))
        if not item.status:
            status = _STATUS.search(near) or _STATUS.search(text)
            if status and status.group(1) != "2":
                item.status = status.group(0)
        if not item.diagnostic and near:
            after = re.split(r"\n[ \t]*\n", near[len(item.address) :], maxsplit=1)[0]
            item.diagnostic = " ".join(after.split()).lstrip(">:;,. ")
        if item.hard is not None:
            continue
        hard = _reply_class(near) if near else None
        if hard is None:
            if not overall_done:
                overall = _reply_class(text)
                if overall is None:
                    overall = _words_class(text, default=None)
                overall_done = True
            hard = overall
        if hard is None:
            hard = item.flufl
        item.hard = hard
