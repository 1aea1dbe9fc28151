"""Step 3: raw RFC 822 bytes → ``ParsedMessage``.

The parser never raises on bad input: what cannot be decoded gets a safe fallback and a
``defects`` entry, and the message is flagged ``is_malformed``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import hashlib
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser, Parser
from email.utils import getaddresses, parsedate_to_datetime
from itertools import pairwise

from django.conf import settings

from mailboxes.intake.tnef import is_tnef, tnef_unpack


@dataclass(frozen=True)
class ParsedAddress:
    address: str  # normalized: lower-case, no angle brackets
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""  # without angle brackets
    is_inline: bool = False
    # index in ParsedMessage.attachments of the attachment this one was unpacked from
    # (a file inside a winmail.dat, tnef.py), None for a MIME part
    parent: int | None = None

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class ParsedMessage:
    """Everything later steps read about a message; headers are already decoded."""

    message_id: str  # "<id@host>"; a stable fingerprint "<sha256@fingerprint.postaci>" if none
    message_id_is_fingerprint: bool = False
    subject: str = ""
    sender: ParsedAddress | None = None  # the From address
    to: list[ParsedAddress] = field(default_factory=list)
    cc: list[ParsedAddress] = field(default_factory=list)
    bcc: list[ParsedAddress] = field(default_factory=list)
    reply_to: list[ParsedAddress] = field(default_factory=list)
    date: datetime | None = None
    in_reply_to: str = ""  # "<id>" or ""
    references: list[str] = field(default_factory=list)  # oldest first, each "<id>"
    # lower-cased header name → decoded value, for the headers the classifier, loop guard and
    # filters read (see INTERESTING_HEADERS); repeated headers are joined with "\n"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"  # of the top-level part
    part_types: list[str] = field(default_factory=list)  # every part's content type, in order
    body_text: str = ""
    body_html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    # Message-IDs of messages this one carries (the original inside a bounce, a forward)
    enclosed_message_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    headers_only: bool = False
    size: int = 0

    @property
    def is_malformed(self) -> bool:
        return bool(self.defects)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


# Headers kept in ParsedMessage.headers (and on Email.headers) for classification,
# loop protection and display.
INTERESTING_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-auto-response-suppress",
    "precedence",
    "x-precedence",
    "list-id",
    "list-unsubscribe",
    "x-loop",
    "return-path",
    "x-failed-recipients",
    "delivered-to",
    "x-postaci-loop",
    "feedback-id",
    "x-mailer",
    "user-agent",
)


_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_WS_RE = re.compile(r"\s+")
# compat32 keeps undecodable header bytes as lone surrogates U+DC80..U+DCFF
_SURROGATES = re.compile("[\udc80-\udcff]")
# compat32 is ~6x faster than policy.default (ARCHITECTURE.md, step 3): only the headers and
# parts kept are decoded, by the small functions below.
_PARSER = BytesParser(policy=email_policy.compat32)
_CHARSET_ALIASES = {
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "unknown": "utf-8",
    "default": "utf-8",
    "x-user-defined": "windows-1252",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
}
_ADDRESS_HEADERS = ("from", "to", "cc", "bcc", "reply-to")
MAX_SUBJECT = 998


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode with the declared charset, then UTF-8, then ``POSTACI_FALLBACK_CHARSET``
    (Windows-1254 by default: Windows-1252 with the Turkish letters); never raises.

    Returns the text and whether a fallback was needed.
    """
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name) or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        name = ""
    if name:
        try:
            return data.decode(name), False
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), bool(charset)
    except UnicodeDecodeError:
        return data.decode(settings.POSTACI_FALLBACK_CHARSET, errors="replace"), True


def decode_header_value(value: str | None) -> str:
    """A header value as one line of text: unfolded (RFC 5322 §2.2.3), RFC 2047 encoded words
    decoded in any charset, raw 8-bit bytes read as UTF-8 (or the fallback charset).

    Whitespace between two encoded words is dropped, whitespace between an encoded word and
    plain text kept (RFC 2047 §6.2), as ``policy.default`` reads it; runs of whitespace become
    one space. Not ``email.header.decode_header``: it drops the whitespace at the start of
    every folded line, so "=?utf-8?q?S=C3=B6zle=C5=9Fme?=", a fold, and " ektedir" (how the
    stdlib itself folds a long subject) read "Sözleşmeektedir".
    """
    if not value:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    text = str(value)
    if "=?" not in text:
        return _WS_RE.sub(" ", _undo_surrogates(text).replace("\x00", "")).strip()
    text = text.replace("\r", "").replace("\n", "")  # unfold: the folding whitespace stays
    out: list[str] = []
    run: list[tuple[str, bytes]] = []  # adjacent encoded words, decoded once per charset
    end = 0
    for word in _ENCODED_WORD.finditer(text):
        between = text[end : word.start()]
        if between and not (run and between.isspace()):
            _flush_encoded(run, out)
            out.append(_undo_surrogates(between))
        charset = word.group(1).partition("*")[0]  # RFC 2231 §5: "=?utf-8*tr?q?...?="
        data = _decode_word_text(word.group(2), word.group(3))
        if data is None:  # not decodable: shown as written
            _flush_encoded(run, out)
            out.append(word.group(0))
        elif run and run[-1][0].lower() == charset.lower():
            # one character may be split across two words by careless encoders
            run[-1] = (run[-1][0], run[-1][1] + data)
        else:
            run.append((charset, data))
        end = word.end()
    _flush_encoded(run, out)
    out.append(_undo_surrogates(text[end:]))
    return _WS_RE.sub(" ", "".join(out).replace("\x00", "")).strip()


# =?charset?encoding?text?= (RFC 2047 §2); the text may hold no "?" (§5 (3)), and is allowed
# to hold spaces, as the stdlib allows, for encoders that fold inside a word.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_word_text(encoding: str, text: str) -> bytes | None:
    """The bytes of an encoded word's text (Q or B, RFC 2047 §4); None if not decodable."""
    data = text.encode("utf-8", "surrogateescape")  # ASCII, unless the sender broke the rules
    if encoding in "qQ":
        return _Q_ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode()), data.replace(b"_", b" "))
    data = data.replace(b" ", b"")
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except binascii.Error:
        try:
            return base64.b64decode(data + b"==", validate=False)  # stray characters ignored
        except binascii.Error:
            return None


def _flush_encoded(run: list[tuple[str, bytes]], out: list[str]) -> None:
    out.extend(decode_bytes(data, charset)[0] for charset, data in run)
    run.clear()


def _undo_surrogates(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates; read them as UTF-8 (or 1252)."""
    if not _SURROGATES.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    return decode_bytes(raw, "utf-8")[0]


def normalize_message_id(value: str) -> str:
    """``<id@host>``; the first bracketed id, or the bare token wrapped, or ``""``."""
    if not value:
        return ""
    match = _MSGID_RE.search(value)
    if match:
        return f"<{match.group(1)}>"[:995]
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token.strip('<>')}>"[:995] if token.strip("<>") else ""


def message_id_list(value: str) -> list[str]:
    return [f"<{m}>" for m in _MSGID_RE.findall(value or "")]


_SIMPLE_ADDRESS = re.compile(
    r"\s*([^<>@]*?)\s*<([^<>\s@]+@[^<>\s@]+)>\s*|\s*([^<>\s@]+@[^<>\s@]+)\s*"
)
_COMPLEX_ADDRESS_CHARS = frozenset('"():;\\[]')


def _address_pairs(values: list[str]) -> list[tuple[str, str]]:
    """``getaddresses`` with a fast path for the plain forms (``a@b``, ``Name <a@b>``) that
    make up nearly all real headers; RFC 5322's quoting, comments and groups go to the
    stdlib parser."""
    texts = [_undo_surrogates(v) for v in values]
    pairs: list[tuple[str, str]] = []
    for text in texts:
        if _COMPLEX_ADDRESS_CHARS.intersection(text):
            break
        for part in text.split(","):
            if not part.strip():
                continue
            match = _SIMPLE_ADDRESS.fullmatch(part)
            if match is None:
                break
            pairs.append((match.group(1) or "", match.group(2) or match.group(3)))
        else:
            continue
        break
    else:
        return pairs
    try:
        return getaddresses(texts)
    except Exception:
        return []


def _addresses(values: list[str]) -> list[ParsedAddress]:
    if not values:
        return []
    from crm.addresses import normalize_address

    result: list[ParsedAddress] = []
    seen: set[str] = set()
    pairs = _address_pairs(values)
    for name, address in pairs:
        normalized = normalize_address(address)
        if not normalized or normalized in seen:
            continue
        seen.add(normalized)
        # quotes around the name are a careless sender's; quotes inside its text are the name's
        name = decode_header_value(name.strip("'\" "))
        result.append(ParsedAddress(normalized, name[:255]))
    return result


def _nameless_sender(values: list[str] | None) -> list[ParsedAddress]:
    """``From: MAILER-DAEMON <>`` has no usable address, but its name still tells who sent it."""
    if not values:
        return []
    name = decode_header_value(values[0].split("<", 1)[0].strip("'\" "))
    return [ParsedAddress("", name[:255])] if name else []


def _part_filename(part: Message) -> str:
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    return decode_header_value(filename)[:255] if filename else ""


def _iter_leaves(message: Message):
    """Leaf parts in order; an attached message (message/rfc822) is one leaf, not descended."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from _iter_leaves(sub)
    else:
        yield message


def _attached_message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(
            sub.as_bytes(policy=email_policy.compat32) if isinstance(sub, Message) else b""
            for sub in payload
        )
    return part.get_payload(decode=True) or b""


def _fingerprint(headers: dict[str, str], raw: bytes) -> str:
    """A stable id for a message without Message-ID: the same message reaching two
    mailboxes (different Received lines) gets the same fingerprint."""
    body_start = raw.find(b"\r\n\r\n")
    body_start = raw.find(b"\n\n") if body_start < 0 else body_start
    body = raw[body_start:] if body_start >= 0 else b""
    digest = hashlib.sha256()
    for name in ("from", "to", "cc", "date", "subject"):
        digest.update(headers.get(name, "").encode("utf-8", "replace") + b"\0")
    digest.update(hashlib.sha256(body.replace(b"\r\n", b"\n")).digest())
    return f"<{digest.hexdigest()[:40]}@fingerprint.postaci>"


def parse_message(raw: bytes, *, headers_only: bool = False) -> ParsedMessage:
    """Parse raw RFC 822 bytes; never raises on malformed input (see ``defects``).

    Headers first (the body is not even split into lines); a one-part message then needs no
    MIME walk at all, and only a multipart one is parsed whole. The body is read as text only
    for the paths that need it (a plain multipart message is read from ``raw`` alone).
    """
    defects: list[str] = []
    message, body_start = _parse_head(raw)
    collected = _collect_headers(message)
    parsed = _read_headers(raw, collected, defects, headers_only=headers_only)
    defects.extend(type(defect).__name__ for defect in message.defects)
    simple = _simple_body_type(collected)
    if headers_only or simple is None:
        parsed.content_type = message.get_content_type()
    if headers_only:
        parsed.defects = defects
        return parsed
    if simple is not None:
        _body_set(message, raw, body_start)
        parsed = _parse_single_part(parsed, message, collected, simple, defects)
    elif not _parse_plain_multipart(parsed, raw, message, collected, defects, body_start):
        _body_set(message, raw, body_start)
        parsed = _parse_multipart(parsed, raw, message, defects)
    if any(is_tnef(part) for part in parsed.attachments):
        tnef_unpack(parsed)  # winmail.dat: its files become attachments too
    return parsed


def _collect_headers(message: Message) -> dict[str, list[str]]:
    """Lower-cased name → every value as received (8-bit bytes as surrogates), undecoded:
    only the headers read are decoded."""
    collected: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        collected.setdefault(name.lower(), []).append(value)
    return collected


def _first(collected: dict[str, list[str]], name: str) -> str:
    values = collected.get(name)
    return values[0] if values else ""


def _read_headers(
    raw: bytes, collected: dict[str, list[str]], defects: list[str], *, headers_only: bool
) -> ParsedMessage:
    """The ``ParsedMessage`` of the headers: ids, addresses, date, subject, kept headers."""
    headers = {
        name: "\n".join(decode_header_value(v) for v in collected[name])[:2000]
        for name in INTERESTING_HEADERS
        if name in collected
    }
    subject = decode_header_value(_first(collected, "subject"))[:MAX_SUBJECT] or "(no subject)"
    message_id = normalize_message_id(_first(collected, "message-id"))
    is_fingerprint = not message_id
    if is_fingerprint:
        plain_headers = {
            name: decode_header_value(_first(collected, name)) for name in ("from", "to", "cc")
        }
        plain_headers.update(date=_first(collected, "date"), subject=subject)
        message_id = _fingerprint(plain_headers, raw)
    date = _read_date(_first(collected, "date"), defects)
    senders = _addresses(collected.get("from", [])) or _nameless_sender(collected.get("from"))
    if not collected.get("from"):
        defects.append("no From header")
    return ParsedMessage(
        message_id=message_id,
        message_id_is_fingerprint=is_fingerprint,
        subject=subject,
        sender=senders[0] if senders else None,
        to=_addresses(collected.get("to", [])),
        cc=_addresses(collected.get("cc", [])),
        bcc=_addresses(collected.get("bcc", [])),
        reply_to=_addresses(collected.get("reply-to", [])),
        date=date,
        in_reply_to=normalize_message_id(_first(collected, "in-reply-to")),
        references=message_id_list(" ".join(collected.get("references", []))),
        headers=headers,
        headers_only=headers_only,
        size=len(raw),
    )


def _read_date(date_header: str, defects: list[str]) -> datetime | None:
    """The Date header as an aware datetime (UTC when it names no zone); None if absent or
    unreadable (then a defect)."""
    if not date_header:
        return None
    try:
        date = parsedate_to_datetime(date_header.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("unparseable Date header")
        return None
    if date is not None and date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return date


def _parse_multipart(
    parsed: ParsedMessage, raw: bytes, message: Message, defects: list[str]
) -> ParsedMessage:
    """The body of a MIME tree: the text and HTML parts joined, every other leaf an
    attachment (an attached message one ``.eml``)."""
    maintype = message.get_content_maintype()
    views: dict[int, _PartView] = {}
    tree = _mime_tree(message, views) if maintype == "multipart" else None
    if tree is not None:
        message = tree  # well formed: its only defects are its headers', noted already
    elif maintype in ("multipart", "message"):
        message = _PARSER.parsebytes(raw)
        defects.extend(type(defect).__name__ for defect in message.defects)
    _note_parts(parsed, message, defects, views)
    texts: list[str] = []
    htmls: list[str] = []
    for part in _iter_leaves(message):
        view = views[id(part)]
        content_type = view.content_type
        filename = view.filename()
        if content_type == "message/rfc822" or content_type.startswith("multipart/"):
            _attach_message(parsed, part, filename, defects)
            continue
        disposition = view.disposition()
        payload = _part_payload(part, content_type, defects)
        if content_type in ("text/rfc822-headers", "message/global-headers"):
            _note_enclosed_headers(parsed, payload)
        if _is_body_text(content_type, disposition, filename):
            text = _text_decode(payload, view.charset(), defects)
            (texts if content_type == "text/plain" else htmls).append(text)
            continue
        part.set_payload(None)  # its text is decoded: a large attachment is not kept twice
        _attachment_add(parsed, content_type, filename, payload, view.content_id(), disposition)
    _bodies_set(parsed, texts, htmls, defects)
    return parsed


def _is_body_text(content_type: str, disposition: str, filename: str) -> bool:
    """A leaf that is the message's text, not an attachment (both multipart readers)."""
    return (
        content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
    )


def _text_decode(payload: bytes, charset: str | None, defects: list[str]) -> str:
    """A text part's payload decoded; a charset that could not decode it is a defect."""
    text, fell_back = decode_bytes(payload, charset)
    if fell_back:
        defects.append(f"charset {charset!r} could not decode")
    return text


def _attachment_add(
    parsed: ParsedMessage,
    content_type: str,
    filename: str,
    payload: bytes,
    content_id: str,
    disposition: str,
) -> None:
    """A leaf kept as an attachment (``content_id`` as its header has it); every reader of a
    body makes its attachments here, so they name and mark them alike."""
    content_id = normalize_message_id(content_id).strip("<>")
    parsed.attachments.append(
        ParsedAttachment(
            filename=filename or _default_filename(content_type, len(parsed.attachments)),
            content_type=content_type,
            payload=payload,
            content_id=content_id,
            is_inline=bool(content_id) and disposition != "attachment",
        )
    )


def _bodies_set(
    parsed: ParsedMessage, texts: list[str], htmls: list[str], defects: list[str]
) -> None:
    """The text and HTML parts joined (NULs dropped), the defects once each."""
    parsed.body_text = "\n".join(texts).replace("\x00", "")
    parsed.body_html = "<br>".join(htmls).replace("\x00", "")
    parsed.defects = list(dict.fromkeys(defects))


def _note_parts(
    parsed: ParsedMessage, message: Message, defects: list[str], views: dict[int, _PartView]
) -> None:
    """Every part's content type, in order, and what is wrong with any of them; ``views``
    gets every part's headers as read (by ``id``), for the body step to read them once."""
    for node in message.walk():
        view = views.get(id(node))
        if view is None:
            view = views[id(node)] = _PartView(node)
        parsed.part_types.append(view.content_type)
        if node is not message:
            defects.extend(type(defect).__name__ for defect in node.defects)
        if view.content_types > 1:
            defects.append("part with several Content-Type headers")


# an RFC 2045 token: a type, a subtype, a parameter's name or unquoted value
_WORD = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_BLANKS = r"[ \t\r\n]*"
# a parameter of a MIME header: no RFC 2231 "*", quoted text without quotes, ";" or 8-bit
_PARAMETER = rf";{_BLANKS}([!#$%&'+.^_`|~0-9A-Za-z-]+){_BLANKS}=" + (
    rf"{_BLANKS}({_WORD}|\"[\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]*\"){_BLANKS}"
)
_PLAIN_CONTENT_TYPE = re.compile(
    rf"{_BLANKS}({_WORD}/{_WORD}){_BLANKS}((?:{_PARAMETER})*)(?:;{_BLANKS})?"
)
_PLAIN_PARAMETER = re.compile(_PARAMETER)
_BARE_DISPOSITION = re.compile(rf"{_BLANKS}{_WORD}{_BLANKS}(?:;{_BLANKS})?")


def _plain_content_type(value: str) -> tuple[str, dict[str, str]] | None:
    """``(type, parameters)`` of a Content-Type in the plain form nearly all mail uses, as
    ``get_content_type`` and ``get_param`` read it (names lower-cased, quotes removed, the
    first of a repeated name); None for anything else, which the stdlib reads."""
    match = _PLAIN_CONTENT_TYPE.fullmatch(value)
    if match is None:
        return None
    parameters: dict[str, str] = {}
    for name, text in _PLAIN_PARAMETER.findall(match.group(2)):
        parameters.setdefault(name.lower(), text[1:-1] if text[:1] == '"' else text)
    return match.group(1).lower(), parameters


class _PartView:
    """The headers of one MIME part that the body step reads (type, charset, file name,
    disposition, Content-ID), read from the raw values when they are plain and through
    the ``Message`` API otherwise: the answers are the API's, at a fraction of its cost."""

    __slots__ = (
        "_cid",
        "_disposition",
        "content_type",
        "content_types",
        "parameters",
        "part",
        "transfer_encoding",
    )

    def __init__(self, part: Message) -> None:
        self.part = part
        content_type = disposition = content_id = encoding = None
        self.content_types = 0
        for name, value in part.raw_items():
            name = name.lower()
            if name == "content-type":
                self.content_types += 1
                if content_type is None:
                    content_type = value
            elif name == "content-disposition" and disposition is None:
                disposition = value
            elif name == "content-id" and content_id is None:
                content_id = value
            elif name == "content-transfer-encoding" and encoding is None:
                encoding = value
        self._disposition, self._cid = disposition, content_id
        # str(get("content-transfer-encoding", "8bit")).lower(), as the stdlib checks it
        if encoding is not None and not encoding.isascii():
            encoding = str(part.get("content-transfer-encoding"))
        self.transfer_encoding = (encoding if encoding is not None else "8bit").lower()
        plain = _plain_content_type(content_type) if content_type is not None else None
        if plain is None:
            self.content_type, self.parameters = part.get_content_type(), None
        else:
            self.content_type, self.parameters = plain

    def charset(self) -> str | None:
        """``get_content_charset()``."""
        if self.parameters is None:
            return self.part.get_content_charset()
        charset = self.parameters.get("charset")
        return charset.lower() if charset is not None else None

    def filename(self) -> str:
        """``_part_filename``: the Content-Disposition file name, else the type's name."""
        plain_disposition = self._disposition is None or _BARE_DISPOSITION.fullmatch(
            self._disposition
        )
        if self.parameters is not None and "name" not in self.parameters and plain_disposition:
            return ""
        return _part_filename(self.part)

    def disposition(self) -> str:
        """The disposition type, lower-cased: "inline", "attachment" or ""."""
        value = self._disposition
        if value is not None and not value.isascii():
            value = str(self.part.get("content-disposition"))
        return (value or "").split(";", 1)[0].strip().lower()

    def content_id(self) -> str:
        value = self._cid
        if value is not None and not value.isascii():
            value = str(self.part.get("content-id"))
        return value or ""


def _attach_message(
    parsed: ParsedMessage, part: Message, filename: str, defects: list[str]
) -> None:
    """An attached message becomes one ``.eml`` attachment; its Message-ID is noted as
    enclosed (a bounce's original links the bounce to its thread)."""
    payload = _attached_message_bytes(part)
    inner = part.get_payload()
    if not payload.strip() or (isinstance(inner, list) and inner and not inner[0].keys()):
        defects.append("attached message without headers")
    elif isinstance(inner, list) and inner:
        enclosed = normalize_message_id(str(inner[0].get("message-id") or ""))
        if enclosed:
            parsed.enclosed_message_ids.append(enclosed)
    parsed.attachments.append(
        ParsedAttachment(
            filename=filename or f"message-{len(parsed.attachments) + 1}.eml",
            content_type="message/rfc822",
            payload=payload,
        )
    )


def _part_payload(part: Message, content_type: str, defects: list[str]) -> bytes:
    """The part's decoded bytes; a transfer encoding that cannot be undone keeps them as
    written (and is a defect)."""
    decoded = _base64_payload(part)
    if decoded is not None:
        return decoded
    if isinstance(part._payload, list):
        # message/delivery-status: the stdlib reads its field groups as header-only
        # messages (get_payload(decode=True) gives None); the report is their text
        return b"".join(block.as_bytes() for block in part._payload)
    try:
        return part.get_payload(decode=True) or b""
    except Exception:
        payload = (part.get_payload() or "").encode("utf-8", "surrogateescape")
        defects.append(f"undecodable {content_type} part")
        return payload


def _base64_payload(part: Message) -> bytes | None:
    """A well-formed base64 part decoded as ``get_payload(decode=True)`` decodes it, with a
    third of its memory: the stdlib splits the text into a list of lines (about 110 bytes of
    objects for each 76-byte line) and joins them before decoding, which for an attachment
    of 18 MB was 60 MB more at the fetch's peak. None for anything else (the stdlib's)."""
    payload = part._payload
    if (
        not isinstance(payload, str)
        or str(part.get("content-transfer-encoding", "")).lower() != "base64"
        or not payload.isascii()
    ):
        return None
    written = payload.encode("ascii")
    part.set_payload(None)  # the text goes (it is back below if the stdlib must decode it)
    del payload
    decoded = None
    # needing padding or with invalid characters: the stdlib's lenient decoding and its defect
    with contextlib.suppress(binascii.Error):
        decoded = _base64_decode(written, 0, len(written))
    if decoded is None:
        part.set_payload(written.decode("ascii"))
    return decoded


# base64 text, line breaks (\r, \n: where bytes.splitlines() splits, as the stdlib joins
# the lines of a part) anywhere: no character of the alphabet after a "="
_BASE64_LINES = re.compile(rb"[A-Za-z0-9+/\r\n]*[=\r\n]*")


def _base64_decode(data: bytes, start: int, end: int) -> bytes:
    """``base64.b64decode(data[start:end] without its line breaks, validate=True)``, with
    ``binascii.Error`` also when that needs padding (the stdlib pads it and notes a defect),
    decoded where it lies: the lenient decoder skips the line breaks itself, so the text is
    not copied to take them out (with the copy of a part's text before, 48 MB more at a
    fetch's peak for an 18 MB attachment).

    What the strict decoder accepts: characters of the alphabet, then "=" only; no more
    "=" than the last group needs, or any number after complete groups (Python 3.11)."""
    breaks = data.count(b"\r", start, end) + data.count(b"\n", start, end)
    pads = data.count(b"=", start, end)
    characters = end - start - breaks - pads
    if (characters + pads) % 4:
        raise binascii.Error("base64 that needs padding")
    if (pads > 2 and (characters % 4 or not characters)) or _BASE64_LINES.fullmatch(
        data, start, end
    ) is None:
        raise binascii.Error("not base64")
    with memoryview(data) as view:
        return binascii.a2b_base64(view[start:end])


def _note_enclosed_headers(parsed: ParsedMessage, payload: bytes) -> None:
    """A bounce that quotes only the original's headers still names its Message-ID."""
    headers_of_original = _PARSER.parsebytes(payload, headersonly=True)
    enclosed = normalize_message_id(str(headers_of_original.get("message-id") or ""))
    if enclosed:
        parsed.enclosed_message_ids.append(enclosed)


_HEADER_END = re.compile(r"\r?\n\r?\n")
_HEADER_END_BYTES = re.compile(rb"\r?\n\r?\n")
_STR_PARSER = Parser(policy=email_policy.compat32)


def _parse_headers(raw: bytes) -> Message:
    """What ``parsebytes(raw, headersonly=True)`` returns, without feeding the body through
    the line parser: the header block is parsed, the body set as the payload as is."""
    message, body_start = _parse_head(raw)
    _body_set(message, raw, body_start)
    return message


def _parse_head(raw: bytes) -> tuple[Message, int | None]:
    """``_parse_headers`` without the body when the headers are plain fields: the message
    and where its body starts in ``raw`` (``_body_set`` reads it as text when a path needs
    it); otherwise the stdlib parser's message, body set, and None.

    Plain headers are decoded alone and the body straight from ``raw`` (decoding is byte for
    character, so the offsets are the same): the whole message is never text twice, which
    for a 25 MB message with 8-bit text (two bytes a character then) was 50 MB more; and a
    plain multipart message, read from ``raw``, is never text at all (25 MB of the peak of
    a fetch of a 25 MB message, bench/memory.py)."""
    end = _HEADER_END_BYTES.search(raw)
    if end is not None:
        head = raw[: end.start()].decode("ascii", "surrogateescape")
        if not head.lstrip().startswith(("--", ">From ")):
            message = _plain_header_block(head)
            if message is not None:
                return message, end.end()
    return _parse_header_block(raw.decode("ascii", "surrogateescape")), None


def _body_set(message: Message, raw: bytes, body_start: int | None) -> None:
    """Set the body ``_parse_head`` left out (``body_start`` None: it is set already)."""
    if body_start is not None:
        with memoryview(raw) as view:
            message.set_payload(str(view[body_start:], "ascii", "surrogateescape"))


def _parse_header_block(text: str) -> Message:
    """``_parse_headers`` of a message (or body part) already read as text, as the stdlib
    reads bytes: ASCII with the other bytes as surrogates."""
    end = _HEADER_END.search(text)
    if end is None or text[: end.start()].lstrip().startswith(("--", ">From ")):
        return _STR_PARSER.parsestr(text, headersonly=True)
    message = _plain_header_block(text[: end.start()])
    if message is None:
        message = _STR_PARSER.parsestr(text[: end.end()], headersonly=True)
        if message.defects or _body_text(message):
            # a line that is no header, or the headers ended before that blank line: let
            # the parser decide where the body starts
            return _STR_PARSER.parsestr(text, headersonly=True)
    message.set_payload(text[end.end() :])
    return message


# A block of lines the stdlib's header parser reads as fields: each a name of printable
# ASCII and a colon, or a continuation line, which starts with a blank ("From " lines and a
# first line that continues nothing are read another way).
_FIELD_NAME = r"[\041-\071\073-\176]+:"
_PLAIN_FIELDS = re.compile(rf"{_FIELD_NAME}[^\n]*(?:\n{_FIELD_NAME}[^\n]*|\n[ \t][^\n]*)*")
_NEXT_FIELD = re.compile(r"\n(?![ \t])")


def _plain_header_block(block: str) -> Message | None:
    """The headers of a block of plain fields (no line break after its last line), as the
    stdlib's ``FeedParser`` stores them (``compat32``: the value as written after the colon
    and its blanks, continuation lines and their line breaks kept), without a parser per
    part; None for anything else, which the stdlib then reads (and flags where it should)."""
    if block.count("\r") != block.count("\r\n") or not _PLAIN_FIELDS.fullmatch(block):
        return None  # the stdlib also breaks lines at a bare CR
    message = Message()
    for text in _NEXT_FIELD.split(block):
        name, _, value = text.partition(":")
        message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
    return message


# The end of a line that starts with "--boundary" and is a delimiter line, as the stdlib's
# per-boundary pattern reads it: "--" if it closes the multipart, blanks, the line break.
_DELIMITER_TAIL = re.compile(r"(--)?[ \t]*(\r\n|\n|\Z)")


def _mime_tree(message: Message, views: dict[int, _PartView]) -> Message | None:
    """The whole MIME tree of a multipart message whose headers are parsed and whose body is
    its payload, built as the stdlib's ``FeedParser`` builds it, but by finding the
    delimiter lines with ``str.find`` instead of feeding every line through a regular
    expression compiled for each boundary (16 % of plain intake).

    Only well-formed structures are built here: anything the stdlib would flag or treat
    specially (no boundary, no start or close delimiter, repeated delimiters,
    multipart/digest, bare CR line breaks) returns None, and the caller parses the message
    with the stdlib; a delivery-status part, blocks of headers, is the stdlib's to read too.
    ``test_parse.py`` checks the trees are the stdlib's.

    ``views`` gets each part's headers as read (by ``id``), for ``_note_parts``.
    """
    body = _body_text(message)
    if not isinstance(body, str) or body.count("\r") != body.count("\r\n"):
        return None  # the stdlib also breaks lines at a bare CR
    try:
        if _split_multipart(message, body, views):
            return message
    except RecursionError:  # nested deeper than this recursion goes: the stdlib's to read
        pass
    views.clear()
    return None


def _split_multipart(message: Message, body: str, views: dict[int, _PartView]) -> bool:
    """Attach the parts of ``body`` to the multipart ``message``; False when the stdlib
    must do it (then ``message`` is left half built)."""
    view = views[id(message)] = _PartView(message)
    if view.parameters is None:
        boundary = message.get_boundary()
    else:
        boundary = view.parameters.get("boundary", "").rstrip()  # as get_boundary() reads it
    if (
        not boundary
        or view.transfer_encoding not in ("7bit", "8bit", "binary")
        or view.content_type == "multipart/digest"
    ):
        return False
    separator = "--" + boundary
    delimiters: list[tuple[int, int, bool]] = []  # line start, next line's start, closing
    position = 0
    while True:
        start = body.find(separator, position)
        if start < 0:
            return False  # no close delimiter
        position = start + len(separator)
        if start and body[start - 1] != "\n":
            continue
        tail = _DELIMITER_TAIL.match(body, position)
        if tail is None:
            continue
        if delimiters and delimiters[-1][1] == start:
            return False  # one delimiter right after another
        delimiters.append((start, tail.end(), bool(tail.group(1))))
        if tail.group(1):
            break
        position = tail.end()
    if len(delimiters) < 2 or delimiters[0][2]:
        return False  # no part, or no start delimiter
    first, (_, after_close, _) = delimiters[0][0], delimiters[-1]
    if first:
        message.preamble = _strip_line_end(body[:first])
    message.set_payload(None)
    for (_, part_start, _), (part_end, _, _) in pairwise(delimiters):
        part, stripped = _build_part(body, part_start, part_end, views, strip_end=True)
        if part is None:
            return False
        if not stripped:
            _strip_last_line_end(part)
        message.attach(part)
    message.epilogue = body[after_close:]  # "" when the close delimiter ends the body
    return True


def _build_part(
    body: str, start: int, end: int, views: dict[int, _PartView], *, strip_end: bool = False
) -> tuple[Message | None, bool]:
    """One body part (or enclosed message), ``body[start:end]``, with everything in it, as
    the ``FeedParser`` builds it; None when the stdlib must parse the whole message. With
    ``strip_end`` a leaf part's payload leaves out the line break before the next delimiter
    (RFC 2046) and the second value is True: its text is sliced from ``body`` once, not
    copied again to strip it (a large attachment's text is the parse's largest object)."""
    part, payload_start = _parse_part_headers(body, start, end)
    view = views[id(part)] = _PartView(part)
    stripped = False
    leaf = not view.content_type.startswith(("multipart/", "message/"))
    if payload_start is not None and not (strip_end and leaf):
        part.set_payload(body[payload_start:end])
    if view.content_type == "message/delivery-status":
        # blocks of headers, which the stdlib reads its own way: let it, for this part alone
        del views[id(part)]
        part = _STR_PARSER.parsestr(body[start:end])
        views[id(part)] = _PartView(part)
    elif view.content_type.startswith("multipart/"):
        if not _split_multipart(part, _body_text(part), views):
            return None, False
    elif view.content_type.startswith("message/"):
        text = _body_text(part)
        enclosed, _stripped = _build_part(text, 0, len(text), views)  # what the part carries
        if enclosed is None:
            return None, False
        part.set_payload(None)
        part.attach(enclosed)
    elif strip_end and payload_start is not None:  # a leaf
        if body.endswith("\r\n", payload_start, end):
            end -= 2
        elif body.endswith(("\n", "\r"), payload_start, end):
            end -= 1
        part.set_payload(body[payload_start:end])
        stripped = True
    return part, stripped


def _parse_part_headers(body: str, start: int, end: int) -> tuple[Message, int | None]:
    """``_parse_header_block(body[start:end])`` without copying the part's text: for plain
    headers the part comes back without its payload and with where that starts in ``body``
    (the caller sets it, sliced once); otherwise the part as the stdlib reads it, payload
    included, and None."""
    header_end = _HEADER_END.search(body, start, end)
    if header_end is not None and not body[start : header_end.start()].lstrip().startswith(
        ("--", ">From ")
    ):
        message = _plain_header_block(body[start : header_end.start()])
        if message is not None:
            return message, header_end.end()
    return _parse_header_block(body[start:end]), None


def _strip_last_line_end(part: Message) -> None:
    """The line break before a delimiter line belongs to it (RFC 2046): the stdlib takes it
    from the last message it made while parsing the part: a multipart's epilogue, else the
    body of the part or of the innermost last message it encloses."""
    while True:
        payload = _body_text(part)
        if part.get_content_maintype() == "multipart":
            if part.epilogue == "":
                part.epilogue = None
            elif part.epilogue is not None:
                part.epilogue = _strip_line_end(part.epilogue)
            return
        if isinstance(payload, list) and payload:
            part = payload[-1]
            continue
        if isinstance(payload, str):
            part.set_payload(_strip_line_end(payload))
        return


def _body_text(message: Message) -> str | list | None:
    """The payload as parsed: 8-bit bytes still surrogates (``get_payload()`` would decode
    them with the part's charset, and the tree would no longer be the stdlib's)."""
    return message._payload


def _strip_line_end(text: str) -> str:
    """RFC 2046: the line break before a delimiter line belongs to the delimiter."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text


def _simple_body_type(collected: dict[str, list[str]]) -> tuple[str, str | None] | None:
    """``(content type, charset)`` of a message that is one plain part with nothing unusual
    in its headers (most mail), read without the ``Message`` API; None sends the message
    through the general MIME walk."""
    values = collected.get("content-type")
    if values and len(values) > 1:
        return None
    value = _undo_surrogates(values[0]) if values else "text/plain"
    if "*" in value or "\\" in value:
        return None  # RFC 2231 parameters or quoting: the stdlib knows them
    kind, *params = value.split(";")
    kind = kind.strip().lower()
    if kind.count("/") != 1 or kind.split("/")[0] in ("multipart", "message", ""):
        return None
    charset = None
    for param in params:
        key, sep, val = param.partition("=")
        key = key.strip().lower()
        if key == "name":
            return None
        if sep and key == "charset":
            charset = val.strip().strip('"').strip() or None
    disposition = collected.get("content-disposition")
    if disposition and "name" in disposition[0].lower():
        return None
    return kind, charset


def _parse_single_part(
    parsed: ParsedMessage,
    message: Message,
    collected: dict[str, list[str]],
    simple: tuple[str, str | None],
    defects: list[str],
) -> ParsedMessage:
    """The body of a one-part message: decoded as ``_iter_leaves`` would, minus the walk."""
    content_type, charset = simple
    parsed.content_type = content_type
    parsed.part_types = [content_type]
    try:
        payload = message.get_payload(decode=True) or b""
    except Exception:
        payload = (message.get_payload() or "").encode("utf-8", "surrogateescape")
        defects.append(f"undecodable {content_type} part")
    disposition = (collected.get("content-disposition") or [""])[0]
    disposition = disposition.split(";", 1)[0].strip().lower()
    if content_type in ("text/plain", "text/html") and disposition != "attachment":
        text = _text_decode(payload, charset, defects).replace("\x00", "")
        if content_type == "text/plain":
            parsed.body_text = text
        else:
            parsed.body_html = text
    else:
        content_id = (collected.get("content-id") or [""])[0]
        _attachment_add(parsed, content_type, "", payload, content_id, disposition)
    parsed.defects = list(dict.fromkeys(defects))
    return parsed


# The fast path of a plain multipart message (most mail): the parts' bodies are cut out of
# the raw bytes and decoded without a ``Message`` per part, once the checks below have made
# sure the stdlib would build the same tree without a defect. Anything else (a delimiter
# line or a part header not ending in CRLF, a line the stdlib might read as a delimiter,
# part headers that are not plain ASCII fields, RFC 2231 parameters but a file name in one
# piece, a bounce's report or an enclosed message, other transfer encodings, base64 that is
# not well formed) is left to ``_parse_multipart``. fast_mail_parser (Rust mail-parser) was
# measured for this and is not used: its answers differ from the stdlib's (quoted-printable,
# defects, bounces), and the checks that would make them safe to take cost what it saves
# (README, Speed).
_FAST_CONTAINERS = frozenset({"multipart/mixed", "multipart/alternative", "multipart/related"})
_FAST_CONTAINER_ENCODINGS = frozenset({"7bit", "8bit", "binary"})
_FAST_LEAF_ENCODINGS = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
# parts later steps read from the stdlib's tree: a bounce's report, an enclosed message
_TREE_LEAVES = ("message/", "multipart/", "text/rfc822-headers")
# the end of a delimiter line: "--" if it closes the multipart, blanks, CRLF
_DELIMITER_TAIL_CRLF = re.compile(rb"(--)?[ \t]*(?:\r\n|\Z)")
# a header block of plain fields, ASCII only, every line ending in CRLF (but the last, left
# out): what ``_plain_header_block`` accepts, narrowed
_FIELD_NAME_BYTES = rb"[\041-\071\073-\176]+:"
_PLAIN_FIELDS_ASCII = re.compile(
    rb"%s[^\r\n\x80-\xff]*(?:\r\n(?:%s|[ \t])[^\r\n\x80-\xff]*)*"
    % (_FIELD_NAME_BYTES, _FIELD_NAME_BYTES)
)
# a Content-* field of such a block, its value as compat32 stores it (folds kept)
_CONTENT_FIELD = re.compile(
    rb"^(content-(?:type|disposition|id|transfer-encoding)):[ \t]*"
    rb"([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
# an RFC 2231 file name in one piece, "filename*=utf-8''fatura-%C5%9Fubat.pdf" (how mail
# clients name a file with letters outside ASCII): the charset, the percent-encoded name
_ATTRIBUTE_CHARS = r"[!#$&+.^_`|~0-9A-Za-z-]"
_EXTENDED_FILENAME = (
    rf";{_BLANKS}[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee]\*{_BLANKS}={_BLANKS}"
    rf"({_ATTRIBUTE_CHARS}+)'{_ATTRIBUTE_CHARS}*'((?:{_ATTRIBUTE_CHARS}|%[0-9A-Fa-f]{{2}})*)"
    rf"{_BLANKS}"
)
_PLAIN_EXTENDED_FILENAME = re.compile(_EXTENDED_FILENAME)
_PLAIN_DISPOSITION = re.compile(
    rf"{_BLANKS}({_WORD}){_BLANKS}((?:{_PARAMETER}|{_EXTENDED_FILENAME})*)(?:;{_BLANKS})?"
)


@dataclass
class _PlainPart:
    """What the body step reads of one MIME part whose headers are plain, as ``_PartView``
    reads it, and where its body is in the raw message."""

    content_type: str
    parameters: dict[str, str]
    transfer_encoding: str
    disposition: str  # the type, lower-cased: "inline", "attachment" or ""
    filename: str
    content_id: str
    body_start: int
    body_end: int


def _plain_part(
    content_type: str | None,
    disposition: str | None,
    content_id: str | None,
    encoding: str | None,
    body_start: int,
    body_end: int,
) -> _PlainPart | None:
    """The ``_PartView`` answers of a part from its raw header values; None when one of them
    is not in the plain form (the stdlib's ``Message`` API must read it)."""
    if content_type is None:
        kind, parameters = "text/plain", {}
    else:
        plain = _plain_content_type(content_type)
        if plain is None:
            return None
        kind, parameters = plain
    disposition_parameters: dict[str, str] = {}
    if disposition is not None:
        match = _PLAIN_DISPOSITION.fullmatch(disposition)
        if match is None:
            return None
        for name, text in _PLAIN_PARAMETER.findall(match.group(2)):
            disposition_parameters.setdefault(name.lower(), text[1:-1] if text[:1] == '"' else text)
        extended = _PLAIN_EXTENDED_FILENAME.findall(match.group(2))
        if extended and "filename" not in disposition_parameters:
            if len(extended) > 1:
                return None  # the stdlib joins them as continuations
            filename = _extended_filename(*extended[0])
            if filename is None:
                return None
            disposition_parameters["filename"] = filename
    # get_filename(): the disposition's filename, else the type's name, stripped
    filename = disposition_parameters.get("filename", parameters.get("name"))
    filename = filename.strip() if filename is not None else ""
    return _PlainPart(
        content_type=kind,
        parameters=parameters,
        transfer_encoding=(encoding if encoding is not None else "8bit").lower(),
        disposition=(disposition or "").split(";", 1)[0].strip().lower(),
        filename=decode_header_value(filename)[:255] if filename else "",
        content_id=content_id or "",
        body_start=body_start,
        body_end=body_end,
    )


def _extended_filename(charset: str, encoded: str) -> str | None:
    """An RFC 2231 file name as ``get_filename()`` reads it (percent-decoded as Latin-1, then
    decoded in its charset, undecodable bytes replaced); None for what it reads otherwise (an
    unknown charset, a quote or backslash it would unescape)."""
    try:
        codecs.lookup(charset)
    except LookupError:
        return None
    text = urllib.parse.unquote(encoded, encoding="latin-1")
    if '"' in text or "\\" in text:
        return None
    return text.encode("latin-1").decode(charset, "replace")


def _parse_plain_multipart(
    parsed: ParsedMessage,
    raw: bytes,
    message: Message,
    collected: dict[str, list[str]],
    defects: list[str],
    body_start: int | None = None,
) -> bool:
    """The body of a plain multipart message, as ``_parse_multipart`` reads it, without a
    ``Message`` per part; False (and ``parsed`` untouched) for any other message.
    ``body_start``: where the body starts in ``raw`` when the message has no payload set yet
    (``_parse_head``).

    ``test_parse.py`` holds its answers to ``_parse_multipart``'s on both corpora.
    """
    if body_start is None:  # the body is the end of the raw bytes, byte for character
        body = message._payload
        if not isinstance(body, str):
            return False
        body_start = len(raw) - len(body)
    if message.defects or len(collected.get("content-type", ())) != 1:
        return False
    top = _plain_part(
        collected["content-type"][0],
        None,
        None,
        (collected.get("content-transfer-encoding") or [None])[0],
        body_start,
        len(raw),
    )
    if (
        top is None
        or top.content_type not in _FAST_CONTAINERS
        or not raw.startswith(b"\r\n\r\n", top.body_start - 4)  # headers end in CRLF CRLF
    ):
        return False
    part_types: list[str] = []
    leaves: list[_PlainPart] = []
    try:
        if not _plain_tree(raw, top, part_types, leaves):
            return False
        payloads = [_plain_payload(raw, part) for part in leaves]
    except (binascii.Error, RecursionError):
        return False
    parsed.part_types = part_types
    texts: list[str] = []
    htmls: list[str] = []
    for part, payload in zip(leaves, payloads, strict=True):
        content_type = part.content_type
        if _is_body_text(content_type, part.disposition, part.filename):
            charset = part.parameters.get("charset")
            charset = charset.lower() if charset is not None else None
            text = _text_decode(payload, charset, defects)
            (texts if content_type == "text/plain" else htmls).append(text)
            continue
        _attachment_add(
            parsed, content_type, part.filename, payload, part.content_id, part.disposition
        )
    _bodies_set(parsed, texts, htmls, defects)
    return True


def _plain_tree(
    raw: bytes, container: _PlainPart, part_types: list[str], leaves: list[_PlainPart]
) -> bool:
    """The parts of the multipart ``container`` (its body at ``raw[body_start:body_end]``),
    in the stdlib's ``walk()`` order, into ``part_types`` and ``leaves``: its boundary only on
    delimiter lines that start after a CRLF and end in one, no text after the close
    delimiter, every part's headers plain fields. False when anything is not so."""
    boundary = container.parameters.get("boundary", "").rstrip()  # as get_boundary() reads it
    if not boundary or container.transfer_encoding not in _FAST_CONTAINER_ENCODINGS:
        return False
    part_types.append(container.content_type)
    separator = b"--" + boundary.encode("ascii")
    start, end = container.body_start, container.body_end
    delimiters: list[tuple[int, int]] = []  # line start, next line's start
    position = start
    closed = False
    while (found := raw.find(separator, position, end)) >= 0:
        if closed or (found != start and not raw.startswith(b"\r\n", found - 2)):
            return False  # text after the close, the boundary inside a line, a bare LF or CR
        tail = _DELIMITER_TAIL_CRLF.match(raw, found + len(separator), end)
        if tail is None or (delimiters and delimiters[-1][1] == found):
            return False  # "--boundary" starting a longer word; one delimiter right after another
        closed = bool(tail.group(1))
        delimiters.append((found, tail.end()))
        position = tail.end()
    if not closed or len(delimiters) < 2:
        return False
    for (_, part_start), (part_end, _) in pairwise(delimiters):
        part = _plain_child(raw, part_start, part_end)
        if part is None:
            return False
        if part.content_type.startswith("multipart/"):
            part.body_end = part_end  # a container's line break before the delimiter is its own
            if part.content_type not in _FAST_CONTAINERS or not _plain_tree(
                raw, part, part_types, leaves
            ):
                return False
            continue
        if (
            part.content_type.startswith(_TREE_LEAVES)
            or part.transfer_encoding not in _FAST_LEAF_ENCODINGS
        ):
            return False
        part_types.append(part.content_type)
        leaves.append(part)
    return True


def _plain_child(raw: bytes, start: int, end: int) -> _PlainPart | None:
    """The part between two delimiter lines, ``raw[start:end]``, if its headers are plain
    fields; its body leaves out the line break before the next delimiter (RFC 2046)."""
    fields: dict[bytes, bytes] = {}
    if raw.startswith(b"\r\n", start, end):  # no header at all: text/plain
        body_start = start + 2
    else:
        header_end = raw.find(b"\r\n\r\n", start, end)
        if header_end < 0 or raw.startswith((b"--", b">From "), start, end):
            return None
        body_start = header_end + 4
        block = raw[start:header_end]
        if not _PLAIN_FIELDS_ASCII.fullmatch(block):
            return None
        for name, value in _CONTENT_FIELD.findall(block):
            name = name.lower()
            if name == b"content-type" and name in fields:
                return None  # several Content-Type headers: a defect, the stdlib's to note
            fields.setdefault(name, value)
    body_end = end - 2 if end - 2 >= body_start and raw.startswith(b"\r\n", end - 2) else end
    values = {name: value.decode("ascii") for name, value in fields.items()}
    return _plain_part(
        values.get(b"content-type"),
        values.get(b"content-disposition"),
        values.get(b"content-id"),
        values.get(b"content-transfer-encoding"),
        body_start,
        body_end,
    )


def _plain_payload(raw: bytes, part: _PlainPart) -> bytes:
    """A leaf's decoded bytes, as ``get_payload(decode=True)`` gives them: 7bit, 8bit and
    binary as written, quoted-printable by ``binascii.a2b_qp`` (what the stdlib calls), base64
    when well formed (``binascii.Error`` otherwise: the stdlib decodes it leniently and notes
    a defect, so the message takes ``_parse_multipart``); the encoded ones decoded from
    ``raw`` itself, without a copy of their text."""
    if part.transfer_encoding == "base64":
        return _base64_decode(raw, part.body_start, part.body_end)
    with memoryview(raw) as view:
        if part.transfer_encoding == "quoted-printable":
            return binascii.a2b_qp(view[part.body_start : part.body_end])
        return bytes(view[part.body_start : part.body_end])


_EXTENSIONS = {
    "text/plain": "txt",
    "text/html": "html",
    "text/calendar": "ics",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "message/delivery-status": "txt",
    "message/global-delivery-status": "txt",
    "text/rfc822-headers": "txt",
    "message/global-headers": "txt",
    "message/feedback-report": "txt",
}


def _default_filename(content_type: str, index: int) -> str:
    extension = _EXTENSIONS.get(content_type, "bin")
    return f"attachment-{index + 1}.{extension}"


def parse_step(ctx):
    """Pipeline step 3."""
    raw = ctx.raw
    ctx.parsed = parse_message(bytes(raw.raw), headers_only=raw.headers_only)
    return ctx
