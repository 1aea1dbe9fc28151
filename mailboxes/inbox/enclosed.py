"""Attached emails (``message/rfc822``, a forward "as attachment", a bounce's original): read
from the stored ``.eml`` when someone looks at them, not at intake.

The intake keeps an attached message as one attachment (parse.py); extracting its parts there
would store and index every bounce's original a second time for the few that are opened,
and slow every fetch. Here the ``.eml`` is parsed with the intake's own parser (so a
winmail.dat inside is unpacked the same way) on the email page, and again for a download of
one of its files or for its HTML body document, which is sanitized by the same function as
every HTML body (rendering.py). One parse of a message at most ``MAX_SIZE`` bytes is a few
times its size in memory, within the worker's budget.

A part inside is named by its *path*: the indexes in ``ParsedMessage.attachments`` from the
stored message down, "2" the third file of the attached email, "0-1" the second file of the
email attached first to it. The path of a message is that of its attachment ("" for the
stored one itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from mailboxes.intake.parse import ParsedAddress, ParsedAttachment, ParsedMessage, parse_message
from mailboxes.models import Attachment

RFC822 = "message/rfc822"
MAX_DEPTH = 3  # an email attached to an email attached to one attached to the stored one
MAX_SIZE = 10 * 1024 * 1024  # a larger attached email stays a file to download
PATH_PATTERN = rf"\d{{1,4}}(?:-\d{{1,4}}){{0,{MAX_DEPTH}}}"  # a file's: one more than a message's
PATH = re.compile(PATH_PATTERN)


class PartPathConverter:
    """The ``<partpath:path>`` of the URLs of an attached email's parts."""

    regex = PATH_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


@dataclass
class EnclosedFile:
    """A file of an attached email, as listed on the page."""

    path: str
    filename: str
    content_type: str
    size: int
    unpacked: list[EnclosedFile] = field(default_factory=list)  # from a winmail.dat


@dataclass
class EnclosedMessage:
    """What the email page shows of an attached email."""

    attachment: Attachment
    path: str
    subject: str
    sender: ParsedAddress | None
    to: list[ParsedAddress]
    cc: list[ParsedAddress]
    date: datetime | None
    body_text: str
    has_html: bool
    is_malformed: bool
    files: list[EnclosedFile] = field(default_factory=list)
    messages: list[EnclosedMessage] = field(default_factory=list)
    filename: str = ""  # of this message inside its parent ("" for the stored one)
    size: int = 0


def is_enclosed_message(attachment: Attachment) -> bool:
    """An attached email the page shows as one (a file too large stays a file)."""
    return (
        attachment.content_type.lower() == RFC822
        and attachment.parent_id is None
        and 0 < attachment.size <= MAX_SIZE
    )


def path_split(path: str) -> list[int]:
    """The indexes of a path ("" → []); ``ValueError`` for anything else."""
    if not path:
        return []
    if not PATH.fullmatch(path):
        raise ValueError(f"Not a part path: {path!r}")
    return [int(index) for index in path.split("-")]


def _read(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


def enclosed_parse(attachment: Attachment, path: list[int]) -> ParsedMessage:
    """The attached email at ``path`` (an email inside the stored one), parsed;
    ``LookupError`` when there is none."""
    if not is_enclosed_message(attachment):
        raise LookupError("Not an attached email")
    parsed = parse_message(_read(attachment))
    for index in path:
        part = _attachment_at(parsed, index)
        if part.content_type != RFC822:
            raise LookupError("Not an attached email")
        parsed = parse_message(part.payload)
    return parsed


def enclosed_file(attachment: Attachment, path: list[int]) -> ParsedAttachment:
    """The file at ``path`` inside the stored attached email; ``LookupError`` if none."""
    if not path:
        raise LookupError("No file")
    return _attachment_at(enclosed_parse(attachment, path[:-1]), path[-1])


def _attachment_at(parsed: ParsedMessage, index: int) -> ParsedAttachment:
    if index >= len(parsed.attachments):
        raise LookupError("No such part")
    return parsed.attachments[index]


def enclosed_message(attachment: Attachment) -> EnclosedMessage | None:
    """What the page shows of a stored attached email (None if it cannot be shown)."""
    if not is_enclosed_message(attachment):
        return None
    try:
        data = _read(attachment)
    except (FileNotFoundError, ValueError):
        return None
    return _describe(attachment, parse_message(data), [])


def _describe(attachment: Attachment, parsed: ParsedMessage, path: list[int]) -> EnclosedMessage:
    message = EnclosedMessage(
        attachment=attachment,
        path="-".join(map(str, path)),
        subject=parsed.subject,
        sender=parsed.sender,
        to=parsed.to,
        cc=parsed.cc,
        date=parsed.date,
        body_text=parsed.body_text,
        has_html=bool(parsed.body_html.strip()),
        is_malformed=parsed.is_malformed,
    )
    files: dict[int, EnclosedFile] = {}
    for index, part in enumerate(parsed.attachments):
        part_path = [*path, index]
        if part.content_type == RFC822 and len(part_path) <= MAX_DEPTH and part.payload.strip():
            inner = _describe(attachment, parse_message(part.payload), part_path)
            inner.filename, inner.size = part.filename, part.size
            message.messages.append(inner)
            continue
        if part.is_inline and part.content_type.startswith("image/") and message.has_html:
            continue  # shown in the body
        files[index] = listed = EnclosedFile(
            path="-".join(map(str, part_path)),
            filename=part.filename,
            content_type=part.content_type,
            size=part.size,
        )
        if part.parent is not None and part.parent in files:
            files[part.parent].unpacked.append(listed)
        else:
            message.files.append(listed)
    return message
