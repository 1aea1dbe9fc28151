"""What a delivery says about an object, as the endpoint's owner may see it.

An object the owner may not see is not sent at all; a related record they may not see is
left out (``null``), never named.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from crm.models import User


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def visible_ids(model, ids, owner: User) -> set[int]:
    """Which of ``ids`` ``owner`` may see (``Model.objects.visible_to``)."""
    queryset = model._default_manager.all()
    if not hasattr(queryset, "visible_to"):
        return set()
    return set(queryset.visible_to(owner).filter(pk__in=list(ids)).values_list("pk", flat=True))


def _visible_ref(model, pk, owner: User) -> int | None:
    if pk is None:
        return None
    return pk if pk in visible_ids(model, [pk], owner) else None


def _parent_ref(parent_type_id, parent_id, owner: User) -> dict | None:
    if not parent_type_id or not parent_id:
        return None
    model = ContentType.objects.get_for_id(parent_type_id).model_class()
    if model is None or _visible_ref(model, parent_id, owner) is None:
        return None
    return {"type": model._meta.label_lower, "id": parent_id}


def case_payload(case, owner: User) -> dict:
    account_model = apps.get_model("crm", "Account")
    contact_model = apps.get_model("crm", "Contact")
    return {
        "id": case.pk,
        "number": case.number,
        "name": case.name,
        "status": case.status,
        "priority": case.priority,
        "type": case.type,
        "assigned_user": case.assigned_user_id,
        "teams": sorted(case.teams.values_list("pk", flat=True)),
        "group_account": case.group_account_id,
        "account": _visible_ref(account_model, case.account_id, owner),
        "contact": _visible_ref(contact_model, case.contact_id, owner),
        "created_at": _iso(case.created_at),
        "modified_at": _iso(case.modified_at),
    }


def note_payload(note, owner: User) -> dict:
    return {
        "id": note.pk,
        "type": note.type,
        "author": note.author_id,
        "body": note.body,
        "parent": _parent_ref(note.parent_type_id, note.parent_id, owner),
        "created_at": _iso(note.created_at),
    }


def email_payload(email, owner: User) -> dict:
    recipients = {"to": [], "cc": []}
    for row in email.recipients.select_related("address").order_by("position"):
        if row.kind in recipients:
            recipients[row.kind].append({"address": row.address.address, "name": row.name})
    return {
        "id": email.pk,
        "message_id": email.message_id,
        "subject": email.subject,
        "from": {
            "address": email.from_address.address if email.from_address_id else None,
            "name": email.from_name,
        },
        **recipients,
        "date_sent": _iso(email.date_sent),
        "status": email.status,
        "parent": _parent_ref(email.parent_type_id, email.parent_id, owner),
    }


# event name → (model label, payload builder)
EVENT_SOURCES: dict[str, tuple[str, Callable]] = {
    "email.received": ("mailboxes.Email", email_payload),
    "email.sent": ("mailboxes.Email", email_payload),
    "email.failed": ("mailboxes.Email", email_payload),
    "case.created": ("cases.Case", case_payload),
    "case.updated": ("cases.Case", case_payload),
    "case.assigned": ("cases.Case", case_payload),
    "note.created": ("crm.Note", note_payload),
}
