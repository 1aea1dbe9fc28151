"""TEST HELPER — builds a ``ParsedMessage`` from .eml bytes with the stdlib ``email`` package.

Stand-in until the intake parser lands: replace every use of ``parse_eml`` with
``mailboxes.intake.parse.parse_message(raw: bytes) -> ParsedMessage``. It fills only what the
classifier and loop guard read (headers of ``INTERESTING_HEADERS``, sender, subject, ids,
content types, the text body) and mirrors the documented shape of ``ParsedMessage``.
"""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from pathlib import Path

from mailboxes.intake.parse import INTERESTING_HEADERS, ParsedAddress, ParsedMessage

CORPUS = Path("/work/shared/corpus")


def _decode(value) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except Exception:  # broken encoded-words: keep the raw text
        return str(value).strip()


def _address(value: str) -> ParsedAddress | None:
    name, address = parseaddr(value)
    address = address.strip().strip("<>").lower()
    name = _decode(name)
    if not (address or name):
        return None
    return ParsedAddress(address=address, name=name)


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    # PostgreSQL text cannot hold NUL (lhost-office365-01, lhost-x2-04, rfc3464-66 decode to it)
    return text.replace("\x00", "")


def _walk(part: Message, types: list[str], texts: list[str], htmls: list[str]) -> None:
    """Depth-first like ``Message.walk()``; text of attached messages is not body text."""
    ctype = part.get_content_type()
    types.append(ctype)
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                if sub.get_content_maintype() == "message":
                    _walk_attached(sub, types)
                else:
                    _walk(sub, types, texts, htmls)
        return
    if part.get_content_disposition() == "attachment":
        return
    if ctype == "text/plain":
        texts.append(_text_of(part))
    elif ctype == "text/html":
        htmls.append(_text_of(part))


def _walk_attached(part: Message, types: list[str]) -> None:
    types.append(part.get_content_type())
    payload = part.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, types, [], [])


def parse_eml(raw: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers: dict[str, str] = {}
    for name in INTERESTING_HEADERS:
        values = msg.get_all(name)
        if values is not None:
            headers[name] = "\n".join(_decode(v) for v in values)
    types: list[str] = []
    texts: list[str] = []
    htmls: list[str] = []
    _walk(msg, types, texts, htmls)
    references = [f"<{r.strip('<>')}>" for r in _decode(msg.get("references")).split() if r]
    return ParsedMessage(
        message_id=_decode(msg.get("message-id")) or "<none@fingerprint.postaci>",
        subject=_decode(msg.get("subject")),
        sender=_address(_decode(msg.get("from"))),
        to=[
            ParsedAddress(address=a.lower(), name=n)
            for n, a in getaddresses(msg.get_all("to") or [])
            if a
        ],
        reply_to=[
            ParsedAddress(address=a.lower(), name=n)
            for n, a in getaddresses(msg.get_all("reply-to") or [])
            if a
        ],
        in_reply_to=_decode(msg.get("in-reply-to")),
        references=references,
        headers=headers,
        content_type=msg.get_content_type(),
        part_types=types,
        body_text="\n".join(texts),
        body_html="\n".join(htmls),
        size=len(raw),
    )


def parse_file(path: Path | str) -> ParsedMessage:
    return parse_eml(Path(path).read_bytes())
