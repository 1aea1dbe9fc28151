"""Compose values to reply, reply to all or forward an email, and the addresses that are the
user's own (never answered, never added to a reply-all)."""

from __future__ import annotations

from html import escape

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.addresses import normalize_address
from crm.models import EmailAddressLink, User
from mailboxes.html_text import html_to_text
from mailboxes.models import (
    Email,
    GroupEmailAccount,
    PersonalEmailAccount,
)
from mailboxes.sending.compose import (
    Mailbox,
    forward_subject,
    quote_text,
    reply_subject,
    sanitize_html,
    text_to_html,
)
from mailboxes.sending.permissions import SendingIdentity, sending_identities


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
        initial.update(_forward_values(email, original_text, original_html))
        return initial
    to, cc = _reply_recipients(
        email, user, identities, from_account=initial["from_account"], reply_all=mode == "reply_all"
    )
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


def answer_address(email: Email, user: User) -> Mailbox | None:
    """Where an answer to a received email goes (its Reply-To, else its sender); None for
    mail we sent ourselves."""
    if email.status != Email.Status.IMPORTED or email.from_email in user_own_addresses(user):
        return None
    answer_to = _mailboxes(email, "reply_to")
    if answer_to:
        return answer_to[0]
    return Mailbox(address=email.from_email, name=email.from_name) if email.from_email else None


def _forward_values(email: Email, original_text: str, original_html: str) -> dict:
    """Subject and body of a forward: the original's headers, then the original."""
    header_lines = [
        _("---------- Forwarded message ----------"),
        _("From: %(v)s") % {"v": Mailbox(email.from_email, email.from_name).display()},
        _("Date: %(v)s") % {"v": _when(email)},
        _("Subject: %(v)s") % {"v": email.subject},
        _("To: %(v)s") % {"v": ", ".join(m.display() for m in _mailboxes(email, "to"))},
    ]
    return {
        "subject": forward_subject(email.subject),
        "body": "\n\n" + "\n".join(header_lines) + "\n\n" + original_text,
        "body_html": "<p><br></p><p>"
        + "<br>".join(escape(line) for line in header_lines)
        + "</p>"
        + original_html,
        "forwarded": email.pk,
    }


def _reply_recipients(
    email: Email,
    user: User,
    identities: list[SendingIdentity],
    *,
    from_account: int | None,
    reply_all: bool,
) -> tuple[list[Mailbox], list[Mailbox]]:
    """To and Cc of a reply: the sender (or Reply-To; our own mail: its recipients again);
    reply-all adds the other recipients, never the user's own addresses or the From chosen."""
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
    if reply_all:
        excluded = excluded_from_reply_all(user)
        chosen = next((i for i in identities if i.account_id == from_account), None)
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
    return to, cc
