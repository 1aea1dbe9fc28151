"""Choosing an email's parent by hand, and finding records to choose from.

The intake links new mail automatically (``mailboxes.intake.link``); a user may put an email
on another record, or on none. The email's stream entry moves with it, replies that had no
parent follow it, and the new record's followers hear of it.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet

from crm.addresses import normalize_address
from crm.models import EmailAddressLink, Note, User
from crm.text_search import words_in_fields
from mailboxes.linking.parents import email_parent_models, has_account_field, parent_kind
from mailboxes.models import Email
from mailboxes.notes.email_notes import EmailNews, email_news_publish

SEARCH_LIMIT = 20
PARENT_FIELDS = ["parent_type", "parent_id", "account", "linked_by"]


def account_id_of(parent: Model | None) -> int | None:
    """The Account an email on ``parent`` belongs to: the parent itself, or its Account."""
    if parent is None:
        return None
    if parent_kind(type(parent)) == "account":
        return parent.pk
    if has_account_field(type(parent)):
        return parent.account_id
    return None


def email_set_parent(*, email: Email, parent: Model | None, user: User) -> Email:
    """Put ``email`` on ``parent`` (None: on no record), as ``user`` chose.

    ``user`` must be able to read the email and see the record; otherwise ``PermissionDenied``.
    """
    if not Email.objects.visible_to(user).filter(pk=email.pk).exists():
        raise PermissionDenied("The email is not visible to this user.")
    parent_type = None
    if parent is not None:
        if parent_kind(type(parent)) is None:
            raise ValueError(f"An email cannot belong to {parent!r}.")
        if not type(parent)._default_manager.visible_to(user).filter(pk=parent.pk).exists():
            raise PermissionDenied("The record is not visible to this user.")
        parent_type = ContentType.objects.get_for_model(parent)
    old = (email.parent_type_id, email.parent_id)
    new = (parent_type.pk if parent_type else None, parent.pk if parent is not None else None)
    with transaction.atomic():
        email.parent_type, email.parent_id = parent_type, new[1]
        email.account_id = account_id_of(parent)
        email.linked_by = Email.LinkedBy.MANUAL if parent is not None else Email.LinkedBy.NONE
        email.save(
            update_fields=["parent_type", "parent_id", "account", "linked_by", "modified_at"]
        )
        if old == new:
            return email
        email_type = ContentType.objects.get_for_model(Email)
        if old[0]:
            Note.objects.filter(
                parent_type_id=old[0],
                parent_id=old[1],
                related_type=email_type,
                related_id=email.pk,
                type__in=Note.EMAIL_TYPES,
            ).delete()
        if parent is None:
            return email
        replies = list(Email.objects.filter(replied=email, parent_id__isnull=True))
        for reply in replies:
            reply.parent_type, reply.parent_id = parent_type, parent.pk
            reply.account_id, reply.linked_by = email.account_id, Email.LinkedBy.REPLY
            reply.save(update_fields=PARENT_FIELDS)
        email_news_publish([_news(email, silenced={user.pk})], may_exist=True)
        email_news_publish([_news(reply) for reply in replies], notify=False, may_exist=True)
    return email


def _news(email: Email, *, silenced: set[int] = frozenset()) -> EmailNews:
    sent = email.status == Email.Status.SENT
    return EmailNews(
        email=email,
        note_type=Note.Type.EMAIL_SENT if sent else Note.Type.EMAIL_RECEIVED,
        author_id=email.sent_by_id if sent else None,
        sender=email_sender_display(email),
        silenced_user_ids=set(silenced),
    )


def email_sender_display(email: Email) -> str:
    """``Name <address>`` of the sender, as stored on the email."""
    address = email.from_address.address if email.from_address_id else ""
    if email.from_name and address:
        return f"{email.from_name} <{address}>"
    return email.from_name or address


def parent_search(user: User, kind: str, query: str, *, limit: int = SEARCH_LIMIT) -> list[Model]:
    """Records of one parent type ``user`` can see that match ``query``.

    By address when the query has an ``@`` (any of the record's addresses), by case number for
    ``#123`` or ``123`` among cases, else by name (every word must appear, in any letter
    case and without its accents, as the email search folds them).
    """
    model = email_parent_models().get(kind)
    query = (query or "").strip()
    if model is None or not query:
        return []
    records: QuerySet = model._default_manager.visible_to(user)
    if "@" in query:
        ids = EmailAddressLink.objects.filter(
            address__address=normalize_address(query),
            content_type=ContentType.objects.get_for_model(model),
        ).values("object_id")
        return list(records.filter(pk__in=ids)[:limit])
    number = query.strip("[]#")
    if kind == "case" and number.isdigit():
        return list(records.filter(number=int(number))[:limit])
    names = [f.name for f in model._meta.fields if f.name in ("name", "first_name", "last_name")]
    return list(words_in_fields(records, query, names)[:limit])
