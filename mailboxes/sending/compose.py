"""Building the message: checked header values, addresses, bodies, quoting, and the MIME bytes.

Pure functions, no database. The bytes come from the standard library's modern email API
(``policy.SMTP``), except the subject and address headers, which ``header_encoding`` encodes
(RFC 2047 encoded words) and folds; attachment file names are RFC 2231 parameters, lines end
in CRLF and every part is 7-bit clean, so no server needs 8BITMIME or SMTPUTF8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from html import escape

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from mailboxes.html_text import html_to_text
from mailboxes.sending.exceptions import HeaderInjection, InvalidAddress
from mailboxes.sending.header_encoding import address_value, unstructured_value

POLICY = email_policy.SMTP
_LINE_BREAKS = ("\r", "\n", "\x00", "\u2028", "\u2029", "\x0b", "\x0c", "\x85")

# Reply and forward prefixes already on a subject (English, German, Nordic, Turkish Outlook).
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|ynt|yanıt|antw)\s*(?:\[\d+\])?\s*:", re.I)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|wg|vs|ilt|i̇lt|fw|tr|rv|enc)\s*(?:\[\d+\])?\s*:", re.I)


# --- header values and addresses ------------------------------------------------------------


def check_header_value(value: str, *, field: str = "") -> str:
    """Return ``value`` unless it holds a line break (CR, LF or another line separator),
    which could end the header and smuggle others in: then raise ``HeaderInjection``."""
    if any(ch in value for ch in _LINE_BREAKS):
        raise HeaderInjection(field=field)
    return value


@dataclass(frozen=True)
class Mailbox:
    """A display name and an address (lower-cased domain and local part kept as given)."""

    address: str
    name: str = ""

    def display(self) -> str:
        return format_address(self.name, self.address)


def format_address(name: str, address: str) -> str:
    """``Name <address>`` as typed in the compose form (quoted when the name needs it)."""
    name = " ".join((name or "").replace('"', "").split())
    if not name:
        return address
    if re.search(r'[,;:<>@()\[\]\\."]', name):
        name = f'"{name}"'
    return f"{name} <{address}>"


def parse_addresses(value: str, *, field: str = "") -> list[Mailbox]:
    """Addresses typed in To/Cc/Bcc (``Name <a@b>, c@d``); raises ``HeaderInjection`` for
    line breaks and ``InvalidAddress`` naming the first address that is not valid."""
    value = check_header_value(value or "", field=field).strip().strip(",;").strip()
    if not value:
        return []
    pieces = [p for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)|;", value) if p.strip()]
    mailboxes: list[Mailbox] = []
    seen: set[str] = set()
    for piece in pieces:
        parsed = getaddresses([piece])
        if len(parsed) != 1 or not parsed[0][1]:
            raise InvalidAddress(
                _("“%(value)s” is not a valid email address.") % {"value": piece.strip()},
                field=field,
            )
        name, address = parsed[0]
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidAddress(
                _("“%(value)s” is not a valid email address.") % {"value": piece.strip()},
                field=field,
            ) from None
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        mailboxes.append(Mailbox(address=address, name=name.strip()))
    return mailboxes


# --- bodies -----------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "u", "ul", "img", "font", "small", "big", "center",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color"},
    "div": {"data-signature"},  # the signature block, replaced when the From changes
}


def sanitize_html(html: str) -> str:
    """The HTML body as it is stored and sent: only harmless tags and links (nh3)."""
    return nh3.clean(
        html or "",
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer",
    ).strip()


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (for quoting a text-only email in an HTML reply)."""
    paragraphs = re.split(r"\n\s*\n", (text or "").strip())
    return "".join(
        "<p>" + "<br>".join(escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p.strip()
    )


# --- subjects and quoting ---------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """``Re: subject``, unless it already carries a reply prefix (never ``Re: Re:``)."""
    subject = (subject or "").strip()
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".strip()


# A case's tag in a subject: "[#123]", "[#123 ...]" / "[#123: Printer]" (cases.case_tag reads
# the number from it).
SUBJECT_TAG = re.compile(r"\[#(\d{1,18})(?:[^\]\d][^\]]*)?\]")
# a tag to remove, with the colon that often follows it ("Re: [#3]: Fatura" -> "Re: Fatura")
_TAG_TO_REMOVE = re.compile(r"\s*" + SUBJECT_TAG.pattern + r":?\s*")


def subject_without_tags(subject: str, *, keep: str = "") -> str:
    """``subject`` without the case tags it carries, except those with ``keep``'s number."""
    kept = SUBJECT_TAG.fullmatch(keep or "")
    number = kept.group(1) if kept else None

    def remove(match: re.Match) -> str:
        return match.group(0) if match.group(1) == number else " "

    return " ".join(_TAG_TO_REMOVE.sub(remove, subject or "").split())


def subject_topic(subject: str) -> str:
    """What a subject is about: without case tags and without the reply and forward prefixes
    in front ("Ynt: Fwd: [#3] Şikâyet" -> "Şikâyet"), to name a case opened by a reply to
    something outside Postaci."""
    topic = subject_without_tags(subject)
    while prefix := (_REPLY_PREFIX.match(topic) or _FORWARD_PREFIX.match(topic)):
        topic = topic[prefix.end() :].lstrip()
    return topic


def subject_with_tag(subject: str, tag: str) -> str:
    """``subject`` carrying ``tag`` (a case's ``[#N]``) right after any reply prefix, and no
    other case's tag: a stranger's "[#3] ..." that opened case 11 is answered as
    "[#11] ...", never with two case numbers."""
    subject = subject_without_tags(subject, keep=tag)
    if tag in subject or (SUBJECT_TAG.fullmatch(tag) and SUBJECT_TAG.search(subject)):
        return subject
    prefix = _REPLY_PREFIX.match(subject)
    if prefix is None:
        return f"{tag} {subject}".strip()
    return f"{subject[: prefix.end()]} {tag} {subject[prefix.end() :].strip()}".strip()


def forward_subject(subject: str) -> str:
    """``Fwd: subject``, unless it already carries a forward prefix."""
    subject = (subject or "").strip()
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".strip()


def quote_text(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in (text or "").rstrip().split("\n"))


# --- the message ------------------------------------------------------------------------------


@dataclass
class AttachmentPart:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""  # inline parts referenced as cid: from the HTML
    inline: bool = False


@dataclass
class MessageSpec:
    """Everything the bytes are built from."""

    message_id: str
    sender: Mailbox
    date: datetime
    to: list[Mailbox] = field(default_factory=list)
    cc: list[Mailbox] = field(default_factory=list)
    reply_to: list[Mailbox] = field(default_factory=list)
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    attachments: list[AttachmentPart] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse a line break in any value that becomes a header."""
        check_header_value(self.subject, field="subject")
        check_header_value(self.message_id, field="message_id")
        check_header_value(self.in_reply_to, field="in_reply_to")
        for ref in self.references:
            check_header_value(ref, field="references")
        for name, mailboxes in (
            ("from_account", [self.sender]),
            ("to", self.to),
            ("cc", self.cc),
            ("reply_to", self.reply_to),
        ):
            for mailbox in mailboxes:
                check_header_value(mailbox.name, field=name)
                check_header_value(mailbox.address, field=name)
        for part in self.attachments:
            check_header_value(part.filename, field="attachments")
            check_header_value(part.content_type, field="attachments")
            check_header_value(part.content_id, field="attachments")
        for name, value in self.extra_headers.items():
            check_header_value(name)
            check_header_value(value)


def _text_cte(text: str) -> str:
    return "7bit" if text.isascii() else "quoted-printable"


def _split_type(content_type: str) -> tuple[str, str]:
    maintype, _slash, subtype = (content_type or "").partition("/")
    if not maintype or not subtype or not re.fullmatch(r"[\w.+-]+", maintype + subtype):
        return "application", "octet-stream"
    return maintype.lower(), subtype.lower()


_ITIP_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.M)


def _itip_method(text: str) -> str:
    match = _ITIP_METHOD.search(text)
    return match.group(1).upper() if match else "PUBLISH"


def _is_itip_part(part: AttachmentPart) -> bool:
    """An inline text/calendar part without a Content-ID is the message's own calendar (an
    invitation's REPLY), sent as a body alternative rather than as a file."""
    return (
        part.inline
        and not part.content_id
        and part.content_type.lower() == "text/calendar"
        and _ITIP_METHOD.search(part.payload.decode("utf-8", "replace")) is not None
    )


def message_build(spec: MessageSpec) -> bytes:
    """The RFC 5322 bytes of the message (CRLF line ends); raises ``HeaderInjection``.

    text/plain alone, or multipart/alternative text + HTML (the text made from the HTML
    when only HTML is given), and an iTIP calendar as the last alternative; attachments make
    it multipart/mixed; inline images referenced
    from the HTML go in a multipart/related beside it.
    """
    spec.check()
    message = EmailMessage(policy=POLICY)
    message["Date"] = format_datetime(spec.date)
    # encoded and folded by header_encoding, not by the stdlib (see there why)
    for name, mailboxes in (
        ("From", [spec.sender]),
        ("To", spec.to),
        ("Cc", spec.cc),
        ("Reply-To", spec.reply_to),
    ):
        if mailboxes:
            pairs = [(m.name, m.address) for m in mailboxes]
            message.set_raw(name, address_value(name, pairs))
    message.set_raw("Subject", unstructured_value("Subject", spec.subject))
    message["Message-ID"] = spec.message_id
    if spec.in_reply_to:
        message["In-Reply-To"] = spec.in_reply_to
    if spec.references:
        message["References"] = " ".join(spec.references)
    for name, value in spec.extra_headers.items():
        message[name] = value

    text = spec.body_text
    if spec.body_html and not text.strip():
        text = html_to_text(spec.body_html)
    message.set_content(text or "\n", cte=_text_cte(text or "\n"))
    if spec.body_html:
        message.add_alternative(spec.body_html, subtype="html", cte=_text_cte(spec.body_html))
        html_part = message.get_body(("html",))
        for part in spec.attachments:
            if part.inline and part.content_id and f"cid:{part.content_id}" in spec.body_html:
                maintype, subtype = _split_type(part.content_type)
                html_part.add_related(
                    part.payload,
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{part.content_id}>",
                    filename=part.filename or None,
                    disposition="inline",
                )
    for part in spec.attachments:
        if _is_itip_part(part):
            # an iTIP message (RFC 6047): the calendar is the body's third alternative,
            # text/calendar with its method, as Outlook and Google send and expect it
            text = part.payload.decode("utf-8", "replace")
            message.add_alternative(
                text, subtype="calendar", params={"method": _itip_method(text)}, cte=_text_cte(text)
            )
    for part in spec.attachments:
        if _is_itip_part(part):
            continue
        if part.inline and part.content_id and f"cid:{part.content_id}" in spec.body_html:
            continue
        maintype, subtype = _split_type(part.content_type)
        message.add_attachment(
            part.payload,
            maintype=maintype,
            subtype=subtype,
            filename=part.filename or "attachment",
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # the stdlib repeats it on parts; once is enough
    return message.as_bytes(policy=POLICY)
