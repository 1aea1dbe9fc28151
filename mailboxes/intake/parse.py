"""Step 3: raw RFC 822 bytes → ``ParsedMessage``.

The parser never raises on bad input: what cannot be decoded gets a safe fallback and a
``defects`` entry, and the message is flagged ``is_malformed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
