"""Creating, changing and deleting CRM records with their side effects in the stream.

Views save forms through these functions so that every way of creating a record (screens,
lead conversion, later the mail intake) follows the creator, writes the stream and tells the
assignee.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from crm.addresses import record_set_addresses
from crm.events import event_publish
from crm.models import Note, Notification, Record, Team, User
from crm.notification_reasons import RECORD_ASSIGNED, notification_reason_for
from crm.notifications import notification_create
from crm.stream import note_create, record_follow

# The field whose changes the stream reports, per model ("status changed to ...").
STATUS_FIELDS = {"lead": "status", "opportunity": "stage", "case": "status"}


def status_field_of(record: Record) -> str | None:
    return STATUS_FIELDS.get(record._meta.model_name)


@transaction.atomic
def record_create(
    record: Record,
    *,
    user: User | None,
    teams: Iterable[Team] | None = None,
    addresses: list[str] | None = None,
) -> Record:
    """Save a new record: the creator follows it, the stream says who created it, and the
    assignee (when it is someone else) follows it and is notified."""
    record.created_by = user
    record.save()
    if teams is not None:
        record.teams.set(teams)
    if addresses is not None:
        record_set_addresses(record, addresses)
    if user is not None:
        record_follow(record, user)
    data = {}
    if record.assigned_user_id and record.assigned_user_id != getattr(user, "pk", None):
        data = {"assigned_user_name": str(record.assigned_user)}
    note_create(parent=record, type=Note.Type.CREATE, author=user, data=data, notify=False)
    if record.assigned_user_id:
        _on_assigned(record, user, note=False)
    event_publish(f"{record._meta.model_name}.created", [record])
    return record


@transaction.atomic
def record_update(
    record: Record,
    *,
    user: User | None,
    changed: Iterable[str] = (),
    addresses: list[str] | None = None,
) -> Record:
    """Save an edited record; ``changed`` names the fields the user changed (a form's
    ``changed_data``), so assignment and status changes reach the stream."""
    changed = set(changed)
    record.save()
    if addresses is not None:
        record_set_addresses(record, addresses)
    if "assigned_user" in changed and record.assigned_user_id:
        _on_assigned(record, user)
    status_field = status_field_of(record)
    if status_field and status_field in changed:
        note_create(
            parent=record,
            type=Note.Type.STATUS,
            author=user,
            data={"field": status_field, "value": getattr(record, status_field)},
        )
    event_publish(f"{record._meta.model_name}.updated", [record])
    return record


def record_delete(record: Record) -> None:
    """Delete a record; its follows, own notes and their notifications go with it."""
    record.delete()


def _on_assigned(record: Record, user: User | None, *, note: bool = True) -> None:
    """The assignee follows the record and, unless they assigned it themselves, is told."""
    assignee = record.assigned_user
    record_follow(record, assignee)
    event_publish(f"{record._meta.model_name}.assigned", [record])
    if note:
        note_create(
            parent=record,
            type=Note.Type.ASSIGN,
            author=user,
            data={"assigned_user_id": assignee.pk, "assigned_user_name": str(assignee)},
            notify=False,
        )
    if user is None or assignee.pk != user.pk:
        notification_create(
            user=assignee,
            type=Notification.Type.ASSIGNED,
            related=record,
            data={"by": str(user) if user else ""},
            reason=notification_reason_for(RECORD_ASSIGNED, type(record)),
        )


def status_label(record: Record, value: str) -> str:
    """The display label of a status value of ``record``'s status field."""
    field_name = status_field_of(record)
    if not field_name:
        return value
    choices = dict(record._meta.get_field(field_name).flatchoices)
    return str(choices.get(value, value))
