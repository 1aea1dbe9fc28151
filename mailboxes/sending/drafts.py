"""Writing what a person composed: the compose data, its checks, the stored Email with its
recipients and attachments, and saving a draft.

``email_save_draft`` stops here; ``email_send`` (send.py) writes the same way and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.addresses import addresses_get_or_create, normalize_address
from crm.models import EmailAddress, User
from mailboxes.html_text import html_to_text
from mailboxes.inbox.search_index import emails_index
from mailboxes.intake.parse import ParsedAttachment
from mailboxes.intake.store import attachment_store
from mailboxes.linking.message_ids import message_id_new
from mailboxes.linking.parents import email_parent_models
from mailboxes.models import (
    Attachment,
    Email,
    EmailRecipient,
    EmailUser,
    OutgoingMessage,
)
from mailboxes.sending.compose import (
    AttachmentPart,
    Mailbox,
    check_header_value,
    sanitize_html,
)
from mailboxes.sending.compose_tools import CarriedFile
from mailboxes.sending.exceptions import DraftConflict, NotSendable, SendError
from mailboxes.sending.inline_images import inline_images_extract
from mailboxes.sending.permissions import SendingIdentity, sending_identity_for
from mailboxes.sending.signatures import signature_marks_once


@dataclass
class ComposeData:
    """A composed email as the form (or another caller) hands it to the services."""

    from_account_id: int | None = None
    to: list[Mailbox] = field(default_factory=list)
    cc: list[Mailbox] = field(default_factory=list)
    bcc: list[Mailbox] = field(default_factory=list)
    subject: str = ""
    body_text: str = ""
    body_html: str = ""  # used when given; sanitized here whatever the caller did
    uploads: list[AttachmentPart] = field(default_factory=list)
    keep_attachment_ids: list[int] | None = None  # of the draft / forwarded email; None: all
    parent: Model | None = None
    replied: Email | None = None  # the email this one answers (threading headers)
    forwarded: Email | None = None  # the email this one forwards (its attachments come along)
    reply_to: list[Mailbox] | None = None  # None: automatic (a case's group address)
    compose_token: str = ""  # one per opened compose form: a second submit changes nothing
    # stored files the compose tools added (a template's attachments)
    files: list[CarriedFile] = field(default_factory=list)
    # what else the send does once accepted: action name → choice (send_actions.py)
    after_send: dict = field(default_factory=dict)
    # The draft's version the writer started from (OutgoingMessage.draft_version); None: any.
    # Another tab's save in between makes the write fail with ``DraftConflict``.
    draft_version: int | None = None
    draft_writer: str = ""  # the page writing (its own saves in flight are no conflict)


def parent_resolve(user, label: str, pk) -> Model | None:
    """The record ``label``/``pk`` when ``user`` may see it; ``SendError`` otherwise."""
    if not label and not pk:
        return None
    models = {m._meta.label_lower: m for m in email_parent_models().values()}
    model = models.get((label or "").lower())
    if model is None:
        raise SendError(_("Choose what the email is about."), field="parent_type")
    try:
        record = model._default_manager.visible_to(user).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        record = None
    if record is None:
        raise SendError(_("That record does not exist or you cannot see it."), field="parent_id")
    return record


def parent_label(record: Model | None) -> str:
    return record._meta.label_lower if record is not None else ""


def email_save_draft(*, user: User, data: ComposeData, draft: Email | None = None) -> Email:
    """Create or update a draft; the From (when chosen) must be one the user may use."""
    identity = sending_identity_for(user, data.from_account_id) if data.from_account_id else None
    compose_check(user, data, sending=False)
    with transaction.atomic():
        email, existing = email_for_write(user, data, draft)
        if existing:
            return email
        compose_write(email, data, user=user, identity=identity, status=Email.Status.DRAFT)
    return email


def compose_check(user: User, data: ComposeData, *, sending: bool) -> None:
    check_header_value(data.subject, field="subject")
    for name, mailboxes in (("to", data.to), ("cc", data.cc), ("bcc", data.bcc)):
        for mailbox in mailboxes:
            check_header_value(mailbox.name, field=name)
            check_header_value(mailbox.address, field=name)
    for mailbox in data.reply_to or []:
        check_header_value(mailbox.name, field="reply_to")
        check_header_value(mailbox.address, field="reply_to")
    for part in [*data.uploads, *data.files]:
        check_header_value(part.filename, field="attachments")
        check_header_value(part.content_type, field="attachments")
    if data.parent is not None:
        parent_resolve(user, parent_label(data.parent), data.parent.pk)
    for source in (data.replied, data.forwarded):
        if source is not None and not Email.objects.visible_to(user).filter(pk=source.pk).exists():
            raise SendError(_("The original email is not available."))
    if not sending:
        return
    recipients = {m.address.lower() for m in data.to + data.cc + data.bcc}
    if not recipients:
        raise SendError(_("Add at least one recipient."), field="to")
    limit = settings.POSTACI_MAX_RECIPIENTS
    if len(recipients) > limit:
        raise SendError(
            _("An email can have at most %(limit)d recipients.") % {"limit": limit}, field="to"
        )


def compose_for_sending(
    user: User, data: ComposeData, draft: Email | None, *, status: str
) -> tuple[Email, SendingIdentity | None]:
    """Check and store an email about to leave (Send, Send later, the undo window), with what
    the send also does once accepted (``after_send``). Call inside a transaction. The
    identity is None when this compose form was submitted already: the email it made is
    returned and nothing is written."""
    identity = sending_identity_for(user, data.from_account_id)
    compose_check(user, data, sending=True)
    email, existing = email_for_write(user, data, draft)
    if existing:
        return email, None
    compose_write(email, data, user=user, identity=identity, status=status)
    OutgoingMessage.objects.filter(pk=email.pk).update(after_send=data.after_send)
    return email, identity


def email_for_write(user: User, data: ComposeData, draft: Email | None) -> tuple[Email, bool]:
    """The Email to write: the draft (locked), the one this compose token already made, or a
    new one. ``True`` as second value: it was already sent — leave it alone."""
    if draft is None and data.compose_token:
        known = (
            OutgoingMessage.objects.select_related("email")
            .filter(compose_token=data.compose_token, email__created_by=user)
            .first()
        )
        if known is not None:
            draft = known.email
    if draft is None:
        return Email(created_by=user, message_id=message_id_new(data.parent)), False
    email = Email.objects.select_for_update().get(pk=draft.pk)
    if email.created_by_id != user.pk:
        raise NotSendable(_("Only the author can change a draft."))
    if email.status != Email.Status.DRAFT:
        if data.compose_token and email.outgoing.compose_token == data.compose_token:
            return email, True  # the same form submitted twice
        raise NotSendable(_("This email is no longer a draft."))
    current, writer = (
        OutgoingMessage.objects.filter(pk=email.pk)
        .values_list("draft_version", "draft_writer")
        .first()
    ) or (0, "")
    same_page = bool(data.draft_writer) and data.draft_writer == writer
    if data.draft_version is not None and current != data.draft_version and not same_page:
        raise DraftConflict(current=current)
    return email, False


def draft_version(email: Email) -> int:
    """The version a page editing ``email`` starts from (0 for a new one)."""
    if email is None or email.pk is None:
        return 0
    found = OutgoingMessage.objects.filter(pk=email.pk).values_list("draft_version", flat=True)
    return found.first() or 0


def recipients_create(
    email: Email, rows: dict[str, EmailAddress], groups: Iterable[tuple[str, list[Mailbox]]]
) -> None:
    """Store ``email``'s recipient rows, numbered in order within each kind; ``groups``: (kind,
    mailboxes) pairs, ``rows``: normalized address → its EmailAddress row."""
    EmailRecipient.objects.bulk_create(
        [
            EmailRecipient(
                email=email,
                address=rows[normalize_address(m.address)],
                kind=kind,
                name=m.name[:255],
                position=i,
            )
            for kind, mailboxes in groups
            for i, m in enumerate(mailboxes)
            if normalize_address(m.address) in rows
        ],
        ignore_conflicts=True,
    )


def compose_write(
    email: Email,
    data: ComposeData,
    *,
    user: User | None,
    identity: SendingIdentity | None,
    status: str,
) -> None:
    """Store the composed fields, recipients, attachments and the author's inbox row; images
    pasted in the HTML (``data:``) become inline attachments referenced by ``cid:``."""
    domain = identity.address.rpartition("@")[2] if identity is not None else ""
    try:
        raw_html, inline_parts = inline_images_extract(data.body_html or "", domain=domain)
    except ValueError:
        raise SendError(_("The attachments are too large to send."), field="attachments") from None
    body_html = signature_marks_once(sanitize_html(raw_html)) if raw_html.strip() else ""
    body_text = html_to_text(body_html) if body_html else (data.body_text or "")
    addresses = [m.address for m in data.to + data.cc + data.bcc + (data.reply_to or [])]
    if identity is not None:
        addresses.append(identity.address)
    rows = addresses_get_or_create(addresses)

    email.subject = data.subject[:998]
    email.body_text = body_text
    email.body_html = body_html
    email.status = status
    email.send_account = identity.account if identity else None
    email.from_address = rows.get(normalize_address(identity.address)) if identity else None
    email.from_name = (identity.name if identity else "")[:255]
    email.parent = data.parent
    email.replied = data.replied
    email.in_reply_to, references = threading_headers(data.replied)
    email.references = " ".join(references)
    email.send_error = ""
    if not email.date_sent or status == Email.Status.DRAFT:
        email.date_sent = timezone.now()
    email.save()

    outgoing, _created = OutgoingMessage.objects.get_or_create(email=email)
    OutgoingMessage.objects.filter(pk=email.pk).update(
        draft_version=F("draft_version") + 1, draft_writer=data.draft_writer[:32]
    )
    if data.compose_token and not outgoing.compose_token:
        outgoing.compose_token = data.compose_token[:64]
        try:
            with transaction.atomic():
                outgoing.save(update_fields=["compose_token"])
        except IntegrityError:
            raise SendError(_("This form was already used; open a new one.")) from None

    email.recipients.all().delete()
    recipients_create(
        email,
        rows,
        (
            (EmailRecipient.Kind.TO, data.to),
            (EmailRecipient.Kind.CC, data.cc),
            (EmailRecipient.Kind.BCC, data.bcc),
            (EmailRecipient.Kind.REPLY_TO, data.reply_to or []),
        ),
    )

    _write_attachments(email, data, inline_parts)
    emails_index([email.pk])
    if user is not None:  # the author's copy; Postaci's own mail has no author
        EmailUser.objects.update_or_create(email=email, user=user, defaults={"is_read": True})


def _write_attachments(
    email: Email, data: ComposeData, inline_parts: list[AttachmentPart] = ()
) -> None:
    """Keep the chosen attachments of the draft, copy those of a forwarded email, add the
    files compose tools carried (a template's), the uploads and the images pasted in the
    body; an image pasted before and since removed from the body goes (it would otherwise
    be sent as an attachment)."""
    current = list(email.attachments.all())
    if data.keep_attachment_ids is not None:
        keep = set(data.keep_attachment_ids)
        if data.forwarded is not None:
            # an autosaved forward holds copies of the forwarded email's attachments, while the
            # form still names the originals: keep the copies of the originals it keeps
            files = {a.file.name for a in data.forwarded.attachments.filter(pk__in=keep)}
            keep |= {a.pk for a in current if a.file.name in files}
        Attachment.objects.filter(pk__in=[a.pk for a in current if a.pk not in keep]).delete()
    if data.forwarded is not None and not current:
        Attachment.objects.bulk_create(
            Attachment(
                email=email,
                filename=original.filename,
                content_type=original.content_type,
                size=original.size,
                sha256=original.sha256,
                content_id=original.content_id,
                is_inline=original.is_inline,
                file=original.file.name,  # the same stored file (content-addressed, kept)
            )
            for original in data.forwarded.attachments.all()
            if data.keep_attachment_ids is None or original.pk in data.keep_attachment_ids
        )
    if data.forwarded is None:
        email.attachments.filter(is_inline=True).exclude(content_id="").exclude(
            content_id__in=re.findall(r"cid:([^\s\"'<>]+)", email.body_html)
        ).delete()
    Attachment.objects.bulk_create(
        Attachment(
            email=email,
            filename=carried.filename[:255],
            content_type=carried.content_type[:255],
            size=carried.size,
            sha256=carried.sha256,
            file=carried.file_name,  # the same stored file (content-addressed, kept)
        )
        for carried in data.files
    )
    for part in [*data.uploads, *inline_parts]:
        attachment_store(
            email,
            ParsedAttachment(
                filename=part.filename[:255],
                content_type=part.content_type,
                payload=part.payload,
                content_id=part.content_id,
                is_inline=part.inline,
            ),
        ).save()
    email.has_attachments = email.attachments.filter(is_inline=False).exists()
    email.save(update_fields=["has_attachments"])


def compose_data_of(email: Email) -> ComposeData:
    """The stored email as compose data again: a Scheduled email is built when it leaves."""
    groups: dict[str, list[Mailbox]] = {kind: [] for kind in EmailRecipient.Kind.values}
    for row in email.recipients.select_related("address").order_by("kind", "position"):
        groups[row.kind].append(Mailbox(address=row.address.address, name=row.name))
    return ComposeData(
        from_account_id=email.send_account_id,
        to=groups[EmailRecipient.Kind.TO],
        cc=groups[EmailRecipient.Kind.CC],
        bcc=groups[EmailRecipient.Kind.BCC],
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        parent=email.parent,
        replied=email.replied,
        reply_to=groups[EmailRecipient.Kind.REPLY_TO] or None,
    )


def threading_headers(replied: Email | None) -> tuple[str, list[str]]:
    """In-Reply-To and References of a reply to ``replied`` (RFC 5322 §3.6.4): the parent's
    References (or its In-Reply-To) followed by the parent's own Message-ID."""
    if replied is None or replied.message_id_is_fingerprint or not replied.message_id:
        return "", []
    references = replied.reference_ids or ([replied.in_reply_to] if replied.in_reply_to else [])
    chain = [r for r in references if r != replied.message_id] + [replied.message_id]
    return replied.message_id, list(dict.fromkeys(chain))
