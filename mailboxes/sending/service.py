"""Sending services: save a draft, send, retry, deliver (the task's work), recover.

Flow: ``email_send`` checks everything (From allowed, addresses, no line breaks in headers,
parent and replied email visible), writes the Email (status Sending) with its recipients and
attachments, builds the exact bytes once (``OutgoingMessage.raw``) and queues the
``send_email`` task after the commit. The task runs ``email_deliver``.

Guarantee — at most once per email (and so per Message-ID):

1. An attempt first *claims* the message in its own committed transaction (row lock on the
   Email, ``claimed_at``/``claim_token`` set). Only the holder of a claim talks to SMTP.
2. The outcome is then recorded and the claim released: accepted → Sent; refused for good
   (5xx) → Failed with the server's words; temporary (4xx, connection problems before the
   mail transaction) → still Sending, retried with exponential back-off up to
   ``POSTACI_SEND_MAX_ATTEMPTS`` and then Failed.
3. A claim that never recorded its outcome — the worker died, or the connection broke in the
   middle of the mail transaction, i.e. the server may have accepted the message — is never
   retried automatically. Once older than ``POSTACI_SEND_CLAIM_LEASE`` the email becomes
   Failed, saying it may have been delivered; only a person's Retry sends it again.
4. Running the task again for an email that is Sent, Failed or claimed does nothing, so a
   redelivered or duplicated task cannot send twice.

The remaining window is between the server's "250 accepted" and the commit of step 2: a crash
there leaves the email Failed-and-uncertain rather than sent twice.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.access import is_admin
from crm.addresses import addresses_get_or_create, normalize_address
from crm.messages import Message
from crm.models import EmailAddressLink, User
from crm.stream import record_follow
from mailboxes.html_text import html_to_text
from mailboxes.intake.parse import ParsedAttachment
from mailboxes.intake.store import attachment_store
from mailboxes.message_ids import message_id_new, note_email_sent
from mailboxes.messages import (
    SEND_ACCOUNT_GONE,
    SEND_INTERRUPTED,
    SEND_RETRYING,
    SENT_PARTLY_REFUSED,
    SMTP_RECIPIENTS,
    refused_list,
)
from mailboxes.models import (
    Attachment,
    Email,
    EmailRecipient,
    EmailUser,
    GroupEmailAccount,
    MailAccount,
    OutgoingMessage,
    PersonalEmailAccount,
)
from mailboxes.sending.compose import (
    AttachmentPart,
    Mailbox,
    MessageSpec,
    check_header_value,
    forward_subject,
    message_build,
    parse_addresses,
    quote_text,
    reply_subject,
    sanitize_html,
    subject_with_tag,
    text_to_html,
)
from mailboxes.sending.exceptions import DeliveryError, InvalidAddress, NotSendable, SendError
from mailboxes.sending.permissions import SendingIdentity, sending_identities, sending_identity_for
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver

logger = logging.getLogger(__name__)

# Records an email may be filed under (``app_label.model_name``); cases is named, not imported.
PARENT_MODELS = ("crm.account", "crm.contact", "crm.lead", "crm.opportunity", "cases.case")


# --- what the compose form hands over ---------------------------------------------------------


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


def parent_resolve(user, label: str, pk) -> Model | None:
    """The record ``label``/``pk`` when ``user`` may see it; ``SendError`` otherwise."""
    if not label and not pk:
        return None
    from django.apps import apps

    label = (label or "").lower()
    if label not in PARENT_MODELS:
        raise SendError(_("Choose what the email is about."), field="parent_type")
    try:
        model = apps.get_model(label)
        record = model._default_manager.visible_to(user).filter(pk=int(pk)).first()
    except (LookupError, TypeError, ValueError):
        record = None
    if record is None:
        raise SendError(_("That record does not exist or you cannot see it."), field="parent_id")
    return record


def parent_label(record: Model | None) -> str:
    return record._meta.label_lower if record is not None else ""


# --- drafts and sending -----------------------------------------------------------------------


def email_save_draft(*, user: User, data: ComposeData, draft: Email | None = None) -> Email:
    """Create or update a draft; the From (when chosen) must be one the user may use."""
    identity = sending_identity_for(user, data.from_account_id) if data.from_account_id else None
    _check(user, data, sending=False)
    with transaction.atomic():
        email, existing = _email_for_write(user, data, draft)
        if existing:
            return email
        _write(email, data, user=user, identity=identity, status=Email.Status.DRAFT)
    return email


def email_send(*, user: User, data: ComposeData, draft: Email | None = None) -> Email:
    """Send a new email or a draft: store it (status Sending) and queue delivery after the
    commit. Raises ``FromNotAllowed``, ``HeaderInjection``, ``InvalidAddress``, ``SendError``.
    """
    identity = sending_identity_for(user, data.from_account_id)
    _check(user, data, sending=True)
    with transaction.atomic():
        email, existing = _email_for_write(user, data, draft)
        if existing:
            return email
        _write(email, data, user=user, identity=identity, status=Email.Status.SENDING)
        _prepare(email, data, user=user, identity=identity)
        _queue(email)
    return email


def email_send_automatic(
    *,
    account: MailAccount,
    sender: Mailbox,
    to: list[Mailbox],
    subject: str,
    body_text: str,
    parent: Model | None = None,
    replied: Email | None = None,
    reply_to: list[Mailbox] | None = None,
    extra_headers: dict[str, str] | None = None,
    is_auto_reply: bool = False,
    team_ids: list[int] | None = None,
) -> Email:
    """Store and queue a message Postaci writes by itself (an auto-reply): no user, no From
    check — the caller decided. Same path as ``email_send`` from then on: status Sending, the
    exact bytes built once, the ``send_email`` task queued after the commit, at most once.

    ``sender`` may differ from ``account``'s address (an auto-reply From); it still goes out
    through ``account``'s SMTP. Raises ``HeaderInjection`` for a line break in any header.
    """
    reply_to = reply_to or []
    for mailbox in [sender, *to, *reply_to]:
        check_header_value(mailbox.name, field="to")
        check_header_value(mailbox.address, field="to")
    check_header_value(subject, field="subject")
    if not to:
        raise SendError(_("Add at least one recipient."), field="to")
    with transaction.atomic():
        rows = addresses_get_or_create([m.address for m in [sender, *to, *reply_to]])
        in_reply_to, references = _threading(replied)
        email = Email.objects.create(
            message_id=message_id_new(parent),
            subject=subject[:998],
            body_text=body_text,
            status=Email.Status.SENDING,
            send_account=account,
            from_address=rows.get(normalize_address(sender.address)),
            from_name=sender.name[:255],
            parent_type=ContentType.objects.get_for_model(parent) if parent is not None else None,
            parent_id=parent.pk if parent is not None else None,
            replied=replied,
            in_reply_to=in_reply_to,
            references=" ".join(references),
            date_sent=timezone.now(),
            is_auto_reply=is_auto_reply,
        )
        EmailRecipient.objects.bulk_create(
            [
                EmailRecipient(
                    email=email,
                    address=rows[normalize_address(m.address)],
                    kind=kind,
                    name=m.name[:255],
                    position=i,
                )
                for kind, mailboxes in (
                    (EmailRecipient.Kind.TO, to),
                    (EmailRecipient.Kind.REPLY_TO, reply_to),
                )
                for i, m in enumerate(mailboxes)
                if normalize_address(m.address) in rows
            ],
            ignore_conflicts=True,
        )
        raw = message_build(
            MessageSpec(
                message_id=email.message_id,
                sender=sender,
                date=email.date_sent,
                to=to,
                reply_to=reply_to,
                subject=email.subject,
                body_text=body_text,
                in_reply_to=in_reply_to,
                references=references,
                extra_headers=extra_headers or {},
            )
        )
        email.size = len(raw)
        email.save(update_fields=["size"])
        OutgoingMessage.objects.create(
            email=email,
            raw=raw,
            envelope_from=account.email_address,  # bounces come back to the mailbox
            envelope_to=list(dict.fromkeys(m.address for m in to)),
        )
        email.accounts.add(account)
        email.teams.add(*(team_ids if team_ids is not None else _team_ids(account)))
        _queue(email)
    return email


def email_retry(*, email: Email, user: User) -> Email:
    """Send a failed email again (a person's decision, also after an uncertain failure).

    The sender must still be allowed to use the account it goes out through.
    """
    if not may_retry(user, email):
        raise NotSendable(_("Only the sender or an administrator can retry this email."))
    if email.send_account_id is None:
        raise NotSendable()
    sending_identity_for(user, email.send_account_id)
    with transaction.atomic():
        email = Email.objects.select_for_update().get(pk=email.pk)
        if email.status != Email.Status.FAILED:
            raise NotSendable()
        outgoing = email.outgoing
        if not outgoing.raw:
            raise NotSendable()
        outgoing.attempts = 0
        outgoing.claimed_at = None
        outgoing.claim_token = ""
        outgoing.uncertain = False
        outgoing.requested_by = user
        outgoing.save(
            update_fields=["attempts", "claimed_at", "claim_token", "uncertain", "requested_by"]
        )
        email.status = Email.Status.SENDING
        email.send_error = ""
        email.save(update_fields=["status", "send_error", "modified_at"])
        _queue(email)
    return email


def may_retry(user: User, email: Email) -> bool:
    """The sender (who wrote it or last asked to send it) and administrators."""
    return is_admin(user) or user.pk in (email.created_by_id, _requester_id(email))


def sent_copy_problem(email: Email) -> Message:
    """Why the copy of a sent email is missing from its account's Sent folder, if it is."""
    if email.status != Email.Status.SENT:
        return Message()
    outgoing = (
        OutgoingMessage.objects.filter(email_id=email.pk)
        .only("sent_copy_at", "sent_copy_error")
        .first()
    )
    if outgoing is None or outgoing.sent_copy_at is not None:
        return Message()
    return outgoing.sent_copy_error


def email_retry_sent_copy(*, email: Email, user: User) -> None:
    """Try again to put the copy of a sent email in its account's Sent folder (after the
    owner fixed the account's password, say); the send itself is not repeated."""
    if not may_retry(user, email):
        raise NotSendable(_("Only the sender or an administrator can retry this email."))
    if not sent_copy_problem(email):
        raise NotSendable(_("This email's copy is already in the Sent folder."))
    from mailboxes.tasks import store_sent_email

    email_id = email.pk
    transaction.on_commit(lambda: store_sent_email.delay(email_id), robust=True)


def _requester_id(email: Email) -> int | None:
    outgoing = OutgoingMessage.objects.filter(email_id=email.pk).only("requested_by").first()
    return outgoing.requested_by_id if outgoing else None


def _check(user: User, data: ComposeData, *, sending: bool) -> None:
    check_header_value(data.subject, field="subject")
    for name, mailboxes in (("to", data.to), ("cc", data.cc), ("bcc", data.bcc)):
        for mailbox in mailboxes:
            check_header_value(mailbox.name, field=name)
            check_header_value(mailbox.address, field=name)
    for mailbox in data.reply_to or []:
        check_header_value(mailbox.name, field="reply_to")
        check_header_value(mailbox.address, field="reply_to")
    for part in data.uploads:
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


def _email_for_write(user: User, data: ComposeData, draft: Email | None) -> tuple[Email, bool]:
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
    return email, False


def _write(
    email: Email,
    data: ComposeData,
    *,
    user: User,
    identity: SendingIdentity | None,
    status: str,
) -> None:
    """Store the composed fields, recipients, attachments and the author's inbox row."""
    body_html = sanitize_html(data.body_html) if data.body_html.strip() else ""
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
    email.in_reply_to, references = _threading(data.replied)
    email.references = " ".join(references)
    email.send_error = ""
    if not email.date_sent or status == Email.Status.DRAFT:
        email.date_sent = timezone.now()
    email.save()

    outgoing, _created = OutgoingMessage.objects.get_or_create(email=email)
    if data.compose_token and not outgoing.compose_token:
        outgoing.compose_token = data.compose_token[:64]
        try:
            with transaction.atomic():
                outgoing.save(update_fields=["compose_token"])
        except IntegrityError:
            raise SendError(_("This form was already used; open a new one.")) from None

    email.recipients.all().delete()
    recipients = []
    for kind, mailboxes in (
        (EmailRecipient.Kind.TO, data.to),
        (EmailRecipient.Kind.CC, data.cc),
        (EmailRecipient.Kind.BCC, data.bcc),
        (EmailRecipient.Kind.REPLY_TO, data.reply_to or []),
    ):
        recipients += [
            EmailRecipient(
                email=email,
                address=rows[normalize_address(m.address)],
                kind=kind,
                name=m.name[:255],
                position=i,
            )
            for i, m in enumerate(mailboxes)
            if normalize_address(m.address) in rows
        ]
    EmailRecipient.objects.bulk_create(recipients, ignore_conflicts=True)

    _write_attachments(email, data)
    EmailUser.objects.update_or_create(email=email, user=user, defaults={"is_read": True})


def _write_attachments(email: Email, data: ComposeData) -> None:
    """Keep the chosen attachments of the draft, copy those of a forwarded email, add uploads."""
    current = list(email.attachments.all())
    if data.keep_attachment_ids is not None:
        keep = set(data.keep_attachment_ids)
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
    for part in data.uploads:
        attachment_store(
            email,
            ParsedAttachment(
                filename=part.filename[:255],
                content_type=part.content_type,
                payload=part.payload,
            ),
        ).save()
    email.has_attachments = email.attachments.filter(is_inline=False).exists()
    email.save(update_fields=["has_attachments"])


def _threading(replied: Email | None) -> tuple[str, list[str]]:
    """In-Reply-To and References of a reply to ``replied`` (RFC 5322 §3.6.4): the parent's
    References (or its In-Reply-To) followed by the parent's own Message-ID."""
    if replied is None or replied.message_id_is_fingerprint or not replied.message_id:
        return "", []
    references = replied.reference_ids or ([replied.in_reply_to] if replied.in_reply_to else [])
    chain = [r for r in references if r != replied.message_id] + [replied.message_id]
    return replied.message_id, list(dict.fromkeys(chain))


def _prepare(email: Email, data: ComposeData, *, user: User, identity: SendingIdentity) -> None:
    """Fix the Message-ID, Date and the exact bytes of this send; link account and teams."""
    account = identity.account
    email.message_id = message_id_new(data.parent)
    email.date_sent = timezone.now()
    email.save(update_fields=["message_id", "date_sent", "modified_at"])

    reply_to = data.reply_to if data.reply_to is not None else _automatic_reply_to(data.parent)
    if reply_to and data.reply_to is None:
        rows = addresses_get_or_create([m.address for m in reply_to])
        EmailRecipient.objects.bulk_create(
            [
                EmailRecipient(
                    email=email,
                    address=rows[normalize_address(m.address)],
                    kind=EmailRecipient.Kind.REPLY_TO,
                    name=m.name[:255],
                    position=i,
                )
                for i, m in enumerate(reply_to)
            ],
            ignore_conflicts=True,
        )
    attachments = [
        AttachmentPart(
            filename=a.filename,
            content_type=a.content_type,
            payload=_read(a),
            content_id=a.content_id,
            inline=a.is_inline,
        )
        for a in email.attachments.all()
    ]
    size = sum(len(a.payload) for a in attachments)
    if size > settings.POSTACI_MAX_MESSAGE_SIZE:
        raise SendError(_("The attachments are too large to send."), field="attachments")
    in_reply_to, references = _threading(data.replied)
    raw = message_build(
        MessageSpec(
            message_id=email.message_id,
            sender=Mailbox(address=identity.address, name=identity.name),
            date=email.date_sent,
            to=data.to,
            cc=data.cc,
            reply_to=reply_to or [],
            subject=email.subject,
            body_text="" if email.body_html else email.body_text,
            body_html=email.body_html,
            in_reply_to=in_reply_to,
            references=references,
            attachments=attachments,
        )
    )
    envelope = list(dict.fromkeys(m.address for m in data.to + data.cc + data.bcc))
    email.size = len(raw)
    email.save(update_fields=["size"])
    OutgoingMessage.objects.filter(pk=email.pk).update(
        raw=raw,
        envelope_from=identity.address,
        envelope_to=envelope,
        requested_by=user,
        attempts=0,
        claimed_at=None,
        claim_token="",
        accepted_at=None,
        refused={},
        uncertain=False,
    )
    email.accounts.add(account)
    email.teams.add(*_team_ids(account))


def _read(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as handle:
        return handle.read()


def _team_ids(account: MailAccount) -> list[int]:
    account = account.specific
    if isinstance(account, GroupEmailAccount):
        return list(account.teams.values_list("pk", flat=True))
    owner_team = account.owner.default_team_id
    return [owner_team] if owner_team else []


def _automatic_reply_to(parent: Model | None) -> list[Mailbox]:
    """Mail about a case asks for answers at its group mailbox, whoever sends it."""
    group_account = getattr(parent, "group_account", None)
    if isinstance(group_account, GroupEmailAccount) and group_account.email_address:
        return [
            Mailbox(
                address=group_account.email_address,
                name=group_account.from_name or group_account.name,
            )
        ]
    return []


def _queue(email: Email, countdown: float = 0) -> None:
    """Queue the send task once the transaction commits (robust: a broker outage leaves the
    email Sending and unclaimed, and ``sending_recover`` queues it again)."""
    from mailboxes.tasks import send_email

    due = timezone.now() + timedelta(seconds=countdown)
    OutgoingMessage.objects.filter(pk=email.pk).update(due_at=due)
    email_id = email.pk

    def enqueue() -> None:
        if countdown:
            send_email.apply_async((email_id,), countdown=countdown)
        else:
            send_email.delay(email_id)

    transaction.on_commit(enqueue, robust=True)


# --- delivery (the task) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one run of ``email_deliver`` did; ``retry_in``: run again after this many s."""

    status: str  # sent, failed, retry, busy, skipped
    retry_in: float | None = None


def _backoff(attempt: int) -> float:
    delay = settings.POSTACI_SEND_RETRY_DELAY * (2 ** max(0, attempt - 1))
    return min(delay, settings.POSTACI_SEND_RETRY_MAX_DELAY)


def email_deliver(email_id: int) -> DeliveryOutcome:
    """Make one delivery attempt for a Sending email; safe to run any number of times."""
    now = timezone.now()
    token = secrets.token_hex(16)
    lease = timedelta(seconds=settings.POSTACI_SEND_CLAIM_LEASE)
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != Email.Status.SENDING:
            return DeliveryOutcome("skipped")
        outgoing = OutgoingMessage.objects.get(pk=email.pk)
        if outgoing.claimed_at is not None:
            if now - outgoing.claimed_at < lease:
                remaining = (outgoing.claimed_at + lease - now).total_seconds()
                return DeliveryOutcome("busy", retry_in=max(remaining, 1.0))
            _mark_uncertain(email, outgoing)
            return DeliveryOutcome("failed")
        account = email.send_account.specific if email.send_account_id else None
        if account is None or not outgoing.raw:
            _mark_failed(email, outgoing, SEND_ACCOUNT_GONE())
            return DeliveryOutcome("failed")
        outgoing.claimed_at, outgoing.claim_token = now, token
        outgoing.attempts += 1
        outgoing.save(update_fields=["claimed_at", "claim_token", "attempts"])
        email.send_attempts += 1
        email.save(update_fields=["send_attempts", "modified_at"])
        smtp = SmtpSettings.of(account)
        raw = bytes(outgoing.raw)
        envelope_from, envelope_to = outgoing.envelope_from, list(outgoing.envelope_to)

    try:
        refused = smtp_deliver(smtp, raw, envelope_from=envelope_from, envelope_to=envelope_to)
    except DeliveryError as error:
        return _record_failure(email_id, token, error)
    _record_accepted(email_id, refused)
    return DeliveryOutcome("sent")


def _record_failure(email_id: int, token: str, error: DeliveryError) -> DeliveryOutcome:
    with transaction.atomic():
        email = Email.objects.select_for_update().get(pk=email_id)
        outgoing = OutgoingMessage.objects.get(pk=email_id)
        if email.status != Email.Status.SENDING or outgoing.claim_token != token:
            return DeliveryOutcome("skipped")  # settled meanwhile (lease expired, say)
        outgoing.claimed_at, outgoing.claim_token = None, ""
        if error.uncertain:
            outgoing.uncertain = True
            outgoing.save(update_fields=["claimed_at", "claim_token", "uncertain"])
            _mark_failed(email, outgoing, error.message)
            return DeliveryOutcome("failed")
        outgoing.save(update_fields=["claimed_at", "claim_token"])
        if error.transient and outgoing.attempts < settings.POSTACI_SEND_MAX_ATTEMPTS:
            delay = _backoff(outgoing.attempts)
            email.send_error = SEND_RETRYING(attempt=outgoing.attempts, error=error.message)
            email.save(update_fields=["send_error", "modified_at"])
            OutgoingMessage.objects.filter(pk=email_id).update(
                due_at=timezone.now() + timedelta(seconds=delay)
            )
            return DeliveryOutcome("retry", retry_in=delay)
        _mark_failed(email, outgoing, error.message)
        return DeliveryOutcome("failed")


def _record_accepted(email_id: int, refused: dict) -> None:
    """The server took the message: Sent, whatever a lease sweep decided meanwhile."""
    with transaction.atomic():
        email = Email.objects.select_for_update().get(pk=email_id)
        outgoing = OutgoingMessage.objects.get(pk=email_id)
        outgoing.accepted_at = timezone.now()
        outgoing.claimed_at, outgoing.claim_token, outgoing.uncertain = None, "", False
        outgoing.refused = {a: list(r) for a, r in refused.items()}
        outgoing.save(
            update_fields=["accepted_at", "claimed_at", "claim_token", "uncertain", "refused"]
        )
        email.status = Email.Status.SENT
        email.sent_by_id = outgoing.requested_by_id or email.created_by_id
        email.send_error = SENT_PARTLY_REFUSED(list=refused_list(refused)) if refused else Message()
        email.save(update_fields=["status", "sent_by", "send_error", "modified_at"])
        try:
            with transaction.atomic():
                email_after_sent(email)
        except Exception:  # the email is sent; a bookkeeping bug must not hide that
            logger.exception("After-send bookkeeping failed for email %s", email_id)
        if email.send_account_id and email.send_account.store_sent_emails:
            from mailboxes.tasks import store_sent_email

            transaction.on_commit(lambda: store_sent_email.delay(email_id), robust=True)


def email_after_sent(email: Email) -> None:
    """The sender sees it in their Sent mail, follows the parent, and the parent's stream
    says "email sent". Idempotent."""
    sender = email.sent_by
    if sender is not None:
        EmailUser.objects.update_or_create(email=email, user=sender, defaults={"is_read": True})
        if email.parent is not None:
            record_follow(email.parent, sender)
    note_email_sent(email)


def _mark_failed(email: Email, outgoing: OutgoingMessage, error: Message) -> None:
    email.status = Email.Status.FAILED
    email.send_error = error
    email.save(update_fields=["status", "send_error", "modified_at"])
    OutgoingMessage.objects.filter(pk=email.pk).update(due_at=None)


def _mark_uncertain(email: Email, outgoing: OutgoingMessage) -> None:
    outgoing.claimed_at, outgoing.claim_token, outgoing.uncertain = None, "", True
    outgoing.save(update_fields=["claimed_at", "claim_token", "uncertain"])
    _mark_failed(email, outgoing, SEND_INTERRUPTED())


def sending_recover(*, grace: float = 300.0) -> dict[str, int]:
    """Periodic safety net: fail claims older than the lease (never resend them), and queue
    again Sending emails whose task is overdue (lost with a broker outage)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.POSTACI_SEND_CLAIM_LEASE)
    stale = list(
        OutgoingMessage.objects.filter(
            email__status=Email.Status.SENDING, claimed_at__lt=now - lease
        ).values_list("pk", flat=True)
    )
    for pk in stale:
        with transaction.atomic():
            email = Email.objects.select_for_update().get(pk=pk)
            outgoing = OutgoingMessage.objects.get(pk=pk)
            if email.status == Email.Status.SENDING and outgoing.claimed_at is not None:
                _mark_uncertain(email, outgoing)
    overdue = list(
        Email.objects.filter(
            status=Email.Status.SENDING,
            outgoing__claimed_at__isnull=True,
            outgoing__due_at__lt=now - timedelta(seconds=grace),
        ).values_list("pk", flat=True)
    )
    for pk in overdue:
        with transaction.atomic():
            _queue(Email(pk=pk))
    return {"failed": len(stale), "queued": len(overdue)}


# --- replies, forwards, case replies ----------------------------------------------------------


def user_own_addresses(user: User) -> set[str]:
    """The user's addresses: their login address, addresses linked to them, their mailboxes."""
    own = {normalize_address(user.email)} if user.email else set()
    own |= set(
        EmailAddressLink.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=user.pk
        ).values_list("address__address", flat=True)
    )
    own |= set(
        PersonalEmailAccount.objects.filter(owner=user).values_list("email_address", flat=True)
    )
    return {a for a in own if a}


def excluded_from_reply_all(user: User) -> set[str]:
    """Addresses reply-all never adds: the user's own and group mailboxes marked so."""
    excluded = user_own_addresses(user)
    excluded |= set(
        GroupEmailAccount.objects.filter(exclude_from_reply=True).values_list(
            "email_address", flat=True
        )
    )
    return excluded


def _mailboxes(email: Email, kind: str) -> list[Mailbox]:
    return [Mailbox(address=r.address.address, name=r.name) for r in email.recipients_of(kind)]


def _default_from(user: User, email: Email, identities: list[SendingIdentity]) -> int | None:
    """The From of a reply: an address the original was sent to (personal first)."""
    addressed = {r.address.address for r in email.recipients.all()}
    for identity in sorted(identities, key=lambda i: i.is_group):
        if identity.address in addressed:
            return identity.account_id
    if email.send_account_id and any(i.account_id == email.send_account_id for i in identities):
        return email.send_account_id
    return identities[0].account_id if identities else None


def _when(email: Email) -> str:
    if not email.date_sent:
        return ""
    return date_format(timezone.localtime(email.date_sent), "DATETIME_FORMAT")


def _attribution(email: Email) -> str:
    sender = Mailbox(address=email.from_email, name=email.from_name).display()
    when = _when(email)
    return _("On %(date)s, %(sender)s wrote:") % {"date": when, "sender": sender}


def reply_initial(email: Email, user: User, *, mode: str) -> dict:
    """Initial compose values to reply (``reply``), reply to all (``reply_all``) or forward
    (``forward``) ``email``; ``email`` must be one the user can read (callers check)."""
    email = (
        Email.objects.select_related("from_address")
        .prefetch_related("recipients__address")
        .get(pk=email.pk)
    )
    identities = sending_identities(user)
    initial: dict = {
        "from_account": _default_from(user, email, identities),
        "parent_type": email.parent_type.model_class()._meta.label_lower
        if email.parent_type_id and email.parent_type.model_class()
        else "",
        "parent_id": email.parent_id or "",
    }
    original_text = email.body_text or html_to_text(email.body_html)
    original_html = (
        sanitize_html(email.body_html) if email.body_html else text_to_html(original_text)
    )
    if mode == "forward":
        header_lines = [
            _("---------- Forwarded message ----------"),
            _("From: %(v)s") % {"v": Mailbox(email.from_email, email.from_name).display()},
            _("Date: %(v)s") % {"v": _when(email)},
            _("Subject: %(v)s") % {"v": email.subject},
            _("To: %(v)s") % {"v": ", ".join(m.display() for m in _mailboxes(email, "to"))},
        ]
        initial.update(
            subject=forward_subject(email.subject),
            body="\n\n" + "\n".join(header_lines) + "\n\n" + original_text,
            body_html="<p><br></p><p>"
            + "<br>".join(escape(line) for line in header_lines)
            + "</p>"
            + original_html,
            forwarded=email.pk,
        )
        return initial

    own = user_own_addresses(user)
    from_email = email.from_email
    if from_email and from_email in own:
        # Replying to our own message: answer its recipients again.
        to = _mailboxes(email, "to")
    else:
        to = _mailboxes(email, "reply_to") or (
            [Mailbox(address=from_email, name=email.from_name)] if from_email else []
        )
    cc: list[Mailbox] = []
    if mode == "reply_all":
        excluded = excluded_from_reply_all(user)
        chosen = next((i for i in identities if i.account_id == initial["from_account"]), None)
        if chosen is not None:
            excluded.add(chosen.address)
        taken = {m.address.lower() for m in to}
        for mailbox in _mailboxes(email, "to") + _mailboxes(email, "cc"):
            address = mailbox.address.lower()
            if address in excluded or address in taken:
                continue
            taken.add(address)
            cc.append(mailbox)
        to = [m for m in to if m.address.lower() not in excluded] or to
    initial.update(
        to=", ".join(m.display() for m in to),
        cc=", ".join(m.display() for m in cc),
        subject=reply_subject(email.subject),
        body="\n\n" + _attribution(email) + "\n" + quote_text(original_text),
        body_html="<p><br></p><p>"
        + escape(_attribution(email))
        + "</p><blockquote>"
        + original_html
        + "</blockquote>",
        replied=email.pk,
    )
    return initial


def _answer_address(email: Email, user: User) -> Mailbox | None:
    """Where an answer to a received email goes (its Reply-To, else its sender); None for
    mail we sent ourselves."""
    if email.status != Email.Status.IMPORTED or email.from_email in user_own_addresses(user):
        return None
    answer_to = _mailboxes(email, "reply_to")
    if answer_to:
        return answer_to[0]
    return Mailbox(address=email.from_email, name=email.from_name) if email.from_email else None


def case_reply_initial(case, user: User, *, replied: Email | None = None) -> dict:
    """Initial compose values for replying on ``case`` (the cases work renders them with
    ``mailboxes/_reply_form.html``).

    From: the case's group mailbox when the user may send as it (else their first allowed
    address); To: the customer (contact, else account, else lead: primary address); subject:
    a reply to the case's latest customer email, keeping ``[#N]``; parent: the case;
    Reply-To: the group address (set again by ``email_send`` for any case parent).

    ``replied``: answer this email of the case instead (its Reply-To or sender is the To,
    unless it is our own mail); the caller checks that the user can read it.
    """
    identities = sending_identities(user)
    group = case.group_account
    from_account = None
    if group is not None and any(i.account_id == group.pk for i in identities):
        from_account = group.pk
    elif identities:
        from_account = identities[0].account_id

    customer = None
    for record in (case.contact, case.account, case.lead):
        if record is not None and record.primary_email:
            customer = Mailbox(address=record.primary_email, name=str(record))
            break
    case_type = ContentType.objects.get_for_model(type(case))
    latest = replied or (
        Email.objects.visible_to(user)
        .filter(parent_type=case_type, parent_id=case.pk)
        .filter(status=Email.Status.IMPORTED)
        .select_related("from_address")
        .order_by("-date_sent", "-pk")
        .first()
    )
    if replied is not None:
        customer = _answer_address(replied, user) or customer
    tag = case.display_number
    if latest is not None:
        subject = subject_with_tag(reply_subject(latest.subject), tag)
    else:
        subject = subject_with_tag(case.name, tag)
    if customer is None and latest is not None:
        customer = _answer_address(latest, user)
    reply_to = _automatic_reply_to(case)
    return {
        "from_account": from_account,
        "to": customer.display() if customer else "",
        "subject": subject,
        "parent_type": parent_label(case),
        "parent_id": case.pk,
        "replied": latest.pk if latest is not None else None,
        "reply_to": ", ".join(m.display() for m in reply_to),
    }


# --- account test -----------------------------------------------------------------------------


def account_send_test(account: MailAccount, *, to: str, user: User | None = None) -> None:
    """Send a short test email through ``account``'s SMTP, now (the "Send test email"
    button); raises ``DeliveryError`` with the server's words when it fails."""
    account = account.specific
    recipients = parse_addresses(to, field="to")
    if len(recipients) != 1:
        raise InvalidAddress(field="to")
    to = recipients[0].address
    name = account.from_name if isinstance(account, GroupEmailAccount) else ""
    raw = message_build(
        MessageSpec(
            message_id=message_id_new(None),
            sender=Mailbox(address=account.email_address, name=name or account.name),
            date=timezone.now(),
            to=[Mailbox(address=to)],
            subject=_("Postaci test email"),
            body_text=_(
                "This is a test email from Postaci. The SMTP settings of “%(account)s” work."
            )
            % {"account": account.name},
        )
    )
    refused = smtp_deliver(
        SmtpSettings.of(account), raw, envelope_from=account.email_address, envelope_to=[to]
    )
    if refused:
        raise DeliveryError(SMTP_RECIPIENTS(list=refused_list(refused)))
