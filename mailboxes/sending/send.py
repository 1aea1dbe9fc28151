"""Sending: ``email_send`` (a person's email), ``email_send_automatic`` (one Postaci writes
by itself), ``email_retry`` and the Sent-folder copy's retry.

Both sends take one path: the Email is written with its recipients (drafts.py), then
``prepare_send`` fixes the Message-ID and Date, builds the exact bytes once
(``OutgoingMessage.raw``), links account and teams, and ``queue_delivery`` queues the
``send_email`` task after the commit (delivery.py explains the at-most-once rule).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import is_admin
from crm.addresses import addresses_get_or_create
from crm.deliverability import deliverable_for_automatic_mail
from crm.messages import Message
from crm.models import User
from mailboxes import messages
from mailboxes.linking.message_ids import message_id_new
from mailboxes.models import (
    Attachment,
    Email,
    EmailRecipient,
    GroupEmailAccount,
    MailAccount,
    OutgoingMessage,
)
from mailboxes.sending.compose import (
    AttachmentPart,
    Mailbox,
    MessageSpec,
    check_header_value,
    message_build,
)
from mailboxes.sending.delivery import queue_delivery
from mailboxes.sending.drafts import (
    ComposeData,
    compose_for_sending,
    compose_write,
    recipients_create,
    threading_headers,
)
from mailboxes.sending.exceptions import NotSendable, SendError, UndeliverableRecipient
from mailboxes.sending.permissions import SendingIdentity, sending_identity_for


def email_send(*, user: User, data: ComposeData, draft: Email | None = None) -> Email:
    """Send a new email or a draft: store it (status Sending) and queue delivery after the
    commit. Raises ``FromNotAllowed``, ``HeaderInjection``, ``InvalidAddress``, ``SendError``.
    """
    with transaction.atomic():
        email, identity = compose_for_sending(user, data, draft, status=Email.Status.SENDING)
        if identity is None:
            return email
        prepare_send(email, data, user=user, identity=identity)
        queue_delivery(email)
    return email


def email_send_automatic(
    *,
    account: MailAccount,
    sender: Mailbox,
    to: list[Mailbox],
    subject: str,
    body_text: str,
    body_html: str = "",
    parent: Model | None = None,
    replied: Email | None = None,
    reply_to: list[Mailbox] | None = None,
    extra_headers: dict[str, str] | None = None,
    is_auto_reply: bool = False,
    team_ids: list[int] | None = None,
) -> Email:
    """Store and queue a message Postaci writes by itself (an auto-reply): no user, no From
    check — the caller decided. The same path as ``email_send``: written like a composed
    email, status Sending, the exact bytes built once, the ``send_email`` task queued after the
    commit, at most once.

    ``body_html`` (optional, sanitized like any body) makes it an HTML email; ``sender`` may
    differ from ``account``'s address (an auto-reply From); it still goes out
    through ``account``'s SMTP. Raises ``HeaderInjection`` for a line break in any header.
    """
    reply_to = reply_to or []
    _check_automatic(sender, to, reply_to, subject)
    _check_deliverable(to)
    data = ComposeData(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        parent=parent,
        replied=replied,
        reply_to=reply_to,
    )
    identity = SendingIdentity(account=account, address=sender.address, name=sender.name)
    with transaction.atomic():
        email = Email(message_id=message_id_new(parent), is_auto_reply=is_auto_reply)
        compose_write(email, data, user=None, identity=identity, status=Email.Status.SENDING)
        prepare_send(
            email,
            data,
            user=None,
            identity=identity,
            extra_headers=extra_headers,
            team_ids=team_ids,
        )
        queue_delivery(email)
    return email


def _check_deliverable(to: list[Mailbox]) -> None:
    """Automatic mail never goes to an address that bounced (crm.deliverability decides)."""
    addresses = [mailbox.address for mailbox in to]
    deliverable = deliverable_for_automatic_mail(addresses)
    refused = [address for address in addresses if address.strip().lower() not in deliverable]
    if refused:
        raise UndeliverableRecipient(messages.UNDELIVERABLE(addresses=", ".join(refused)))


def _check_automatic(
    sender: Mailbox, to: list[Mailbox], reply_to: list[Mailbox], subject: str
) -> None:
    """No line break in any header, at least one recipient (the From is the caller's choice)."""
    for mailbox in [sender, *to, *reply_to]:
        check_header_value(mailbox.name, field="to")
        check_header_value(mailbox.address, field="to")
    check_header_value(subject, field="subject")
    if not to:
        raise SendError(_("Add at least one recipient."), field="to")


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
        queue_delivery(email)
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


def prepare_send(
    email: Email,
    data: ComposeData,
    *,
    user: User | None,
    identity: SendingIdentity,
    extra_headers: dict[str, str] | None = None,
    team_ids: list[int] | None = None,
) -> None:
    """Fix the Message-ID, Date and the exact bytes of this send; link account and teams
    (``team_ids``: instead of the account's)."""
    account = identity.account
    email.message_id = message_id_new(data.parent)
    email.date_sent = timezone.now()
    email.save(update_fields=["message_id", "date_sent", "modified_at"])
    reply_to = data.reply_to if data.reply_to is not None else _automatic_reply_to_rows(email, data)
    in_reply_to, references = threading_headers(data.replied)
    raw = message_build(
        MessageSpec(
            message_id=email.message_id,
            sender=Mailbox(address=identity.address, name=identity.name),
            date=email.date_sent,
            to=data.to,
            cc=data.cc,
            reply_to=reply_to,
            subject=email.subject,
            body_text="" if email.body_html else email.body_text,
            body_html=email.body_html,
            in_reply_to=in_reply_to,
            references=references,
            attachments=_attachment_parts(email),
            extra_headers=extra_headers or {},
        )
    )
    envelope = list(dict.fromkeys(m.address for m in data.to + data.cc + data.bcc))
    email.size = len(raw)
    email.save(update_fields=["size"])
    OutgoingMessage.objects.filter(pk=email.pk).update(
        raw=raw,
        envelope_from=account.email_address,  # bounces come back to the mailbox
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
    email.teams.add(*(team_ids if team_ids is not None else _account_team_ids(account)))


def _automatic_reply_to_rows(email: Email, data: ComposeData) -> list[Mailbox]:
    """The Reply-To the sender did not choose (a case's group address), stored with the email."""
    reply_to = automatic_reply_to(data.parent)
    if reply_to:
        rows = addresses_get_or_create([m.address for m in reply_to])
        recipients_create(email, rows, [(EmailRecipient.Kind.REPLY_TO, reply_to)])
    return reply_to


def _attachment_parts(email: Email) -> list[AttachmentPart]:
    """The stored attachments as message parts; too large together: ``SendError``."""
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
    return attachments


def _read(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as handle:
        return handle.read()


def _account_team_ids(account: MailAccount) -> list[int]:
    """Who sees what an account sends: a group account's teams, a personal owner's team."""
    account = account.specific
    if isinstance(account, GroupEmailAccount):
        return list(account.teams.values_list("pk", flat=True))
    owner_team = account.owner.default_team_id
    return [owner_team] if owner_team else []


def automatic_reply_to(parent: Model | None) -> list[Mailbox]:
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
