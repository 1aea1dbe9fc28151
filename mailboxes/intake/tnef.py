"""winmail.dat: the files and the body Outlook packs into a TNEF attachment (MS-OXTNEF).

Part of step 3 (parse): a message with a TNEF attachment gets the files inside it as
attachments of its own, each naming the winmail.dat it came from (``ParsedAttachment.parent``),
which stays an attachment too. The body inside is used only when the message has no other:
HTML as is (sanitized on display like every HTML body), RTF that encapsulates HTML
(``\\fromhtml1``) de-encapsulated with RTFDE, any other RTF turned into text with striprtf.

The decoding is tnefparse's; nothing here may raise: a TNEF that cannot be read stays the
original attachment alone and is a parse defect (the email is flagged malformed).
The libraries are imported only when a message has a TNEF attachment.
"""

from __future__ import annotations

import logging
import mimetypes
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailboxes.intake.parse import ParsedAttachment, ParsedMessage

logger = logging.getLogger(__name__)

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
TNEF_NAMES = frozenset({"winmail.dat", "win.dat"})
_GENERIC_TYPES = frozenset({"application/octet-stream", "application/x-octet-stream"})
# "\fromhtml1" in the header of an RTF body: HTML encapsulated in RTF (MS-OXRTFEX)
_FROMHTML = b"\\fromhtml1"


def is_tnef(part: ParsedAttachment) -> bool:
    """A TNEF attachment: its type says so, or a generic type under Outlook's file name."""
    content_type = part.content_type.lower()
    if content_type in TNEF_TYPES:
        return True
    return content_type in _GENERIC_TYPES and part.filename.strip().lower() in TNEF_NAMES


def safe_filename(name: str, default: str = "attachment") -> str:
    """A file name fit for a header and a disk: no control characters or line breaks, no
    directories, at most 255 characters."""
    name = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split()).strip(" .")
    return name[:255] or default


def tnef_unpack(parsed: ParsedMessage) -> None:
    """Add the files of every TNEF attachment of ``parsed`` as attachments, and its body
    when the message has none; a TNEF that cannot be read becomes a defect."""
    for index, part in enumerate(list(parsed.attachments)):
        if part.parent is not None or not is_tnef(part):
            continue
        try:
            files, text, html, intact = _read(part.payload)
        except Exception as exc:  # any broken input: tnefparse raises many kinds
            logger.info("Unreadable TNEF attachment %r: %s", part.filename, exc)
            parsed.defects.append("unreadable TNEF attachment")
            continue
        if not intact:
            parsed.defects.append("damaged TNEF attachment")
        parsed.attachments += [
            _attachment(filename, payload, parent=index) for filename, payload in files
        ]
        if not parsed.body_text.strip() and not parsed.body_html.strip():
            parsed.body_text, parsed.body_html = text, html
    parsed.defects = list(dict.fromkeys(parsed.defects))


def _attachment(filename: str, payload: bytes, *, parent: int) -> ParsedAttachment:
    from mailboxes.intake.parse import ParsedAttachment

    content_type = mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"
    return ParsedAttachment(
        filename=filename, content_type=content_type, payload=payload, parent=parent
    )


def _read(data: bytes) -> tuple[list[tuple[str, bytes]], str, str, bool]:
    """(file name, bytes) of each attached file, the text and HTML body, and whether the
    stream is intact: every attribute's checksum right, nothing cut off or after the last
    (what could be read is kept either way). Raises ``ValueError`` for no TNEF at all."""
    from tnefparse import TNEF

    tnef = TNEF(data, do_checksum=True)
    if not tnef.objects:
        raise ValueError("no TNEF attribute")
    files: list[tuple[str, bytes]] = []
    for number, attachment in enumerate(tnef.attachments, start=1):
        payload = attachment.data
        if not isinstance(payload, bytes) or getattr(attachment, "embed", None) is not None:
            continue  # an embedded Outlook message (no file)
        filename = _decoded(attachment.long_filename())
        files.append((safe_filename(filename, f"attachment-{number}.bin"), payload))
    text = _decoded(tnef.body) if tnef.body else ""
    html = _decoded(tnef.htmlbody) if tnef.htmlbody else ""
    if not text and not html and tnef.has_body():
        text, html = _rtf_body(tnef.rtfbody)
    intact = all(obj.good_checksum for obj in tnef.objects)
    intact = intact and 6 + sum(obj.length for obj in tnef.objects) == len(data)
    return files, text.replace("\x00", ""), html.replace("\x00", ""), intact


def _decoded(value: str | bytes | list) -> str:
    """A TNEF string property as text (tnefparse gives str, bytes or a one-item list)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        from mailboxes.intake.parse import decode_bytes

        value = decode_bytes(value, None)[0]
    return value.rstrip("\x00")


def _rtf_body(rtf: bytes | None) -> tuple[str, str]:
    """(text, HTML) of a decompressed RTF body: the HTML it encapsulates, else its text."""
    if not rtf:
        return "", ""
    if _FROMHTML in rtf[:2048]:
        try:
            from RTFDE.deencapsulate import DeEncapsulator

            rtf_doc = DeEncapsulator(rtf)
            rtf_doc.deencapsulate()
            if rtf_doc.content_type == "html" and rtf_doc.html:
                return "", _decoded(rtf_doc.html)
        except Exception as exc:  # malformed encapsulation: read it as plain RTF below
            logger.info("RTF body not de-encapsulated: %s", exc)
    from striprtf.striprtf import rtf_to_text

    return rtf_to_text(rtf.decode("latin-1"), errors="ignore").strip(), ""
