"""Archives for the import tests: mboxes built from the shared corpus, written as mboxrd."""

from __future__ import annotations

import re
from pathlib import Path

from tests.shared import CORPUS

# Corpus files of every kind: ordinary mail, a message/rfc822 attachment, RFC examples,
# malformed MIME, awkward real-world structures (8-bit bytes) and bounces/auto-replies.
CORPUS_FILES = [
    "sisimai/not/is-not-bounce-01.eml",
    "sisimai/not/is-not-bounce-02.eml",
    "stalwart/rfc/001.eml",
    "stalwart/rfc/002.eml",
    "stalwart/rfc/003.eml",
    "stalwart/malformed/001.eml",
    "stalwart/malformed/002.eml",
    "stalwart/thirdparty/001.eml",
    "stalwart/thirdparty/005.eml",
    "sisimai/bsd/rfc3834-01.eml",
    "sisimai/bsd/lhost-postfix-01.eml",
]

# A body with lines an mbox must quote: "From " (quoted ">From ") and ">From " (">>From ").
FROM_LINES_MESSAGE = (
    b"From: Ayse Yilmaz <ayse@customer.example>\n"
    b"To: support@postaci.example\n"
    b"Subject: Quoting test\n"
    b"Date: Tue, 03 Dec 2024 10:00:00 +0000\n"
    b"Message-ID: <quoting-test@customer.example>\n"
    b"\n"
    b"Hello,\n"
    b"From the first of the month my invoices are wrong.\n"
    b">From an earlier mail, quoted.\n"
    b"Thanks\n"
)

# No Message-ID: found again by the fingerprint of its content, never imported twice.
NO_MESSAGE_ID = (
    b"From: Bora <bora@customer.example>\n"
    b"To: support@postaci.example\n"
    b"Subject: No id here\n"
    b"Date: Wed, 04 Dec 2024 09:00:00 +0000\n"
    b"\n"
    b"This message has no Message-ID header.\n"
)

# Broken: a NUL byte inside its Message-ID, which PostgreSQL refuses to store; the intake
# quarantines it with its bytes and the rest of the archive goes on.
BROKEN = (
    b"From: Cem <cem@customer.example>\n"
    b"To: support@postaci.example\n"
    b"Subject: Broken one\n"
    b"Date: Wed, 04 Dec 2024 11:00:00 +0000\n"
    b"Message-ID: <broken\x00one@customer.example>\n"
    b"\n"
    b"The id above holds a NUL byte.\n"
)


def broken_quarantined() -> int:
    """How many of the archive's messages are quarantined for ``BROKEN``: PostgreSQL refuses
    the NUL byte of its Message-ID, SQLite stores it."""
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 0


_FROM_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)


def corpus_messages() -> list[bytes]:
    return [(CORPUS / name).read_bytes() for name in CORPUS_FILES]


def mboxrd(messages: list[bytes]) -> bytes:
    """An mbox as mutt and most mail clients write it (mboxrd): a ``From `` line before each
    message, every ``From `` or ``>From `` line of the message quoted with one more ``>``,
    a blank line after it."""
    out = []
    for i, raw in enumerate(messages):
        out.append(f"From sender{i}@example.test Mon Dec  2 10:00:{i % 60:02d} 2024\n".encode())
        body = _FROM_QUOTE.sub(rb">\1", raw)
        if not body.endswith(b"\n"):
            body += b"\n"
        out.append(body + b"\n")
    return b"".join(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
