"""Finish a case in one action: "Send and set Pending", "Send and close" and a reassignment
in the case's reply box, done with the email as one change and one stream entry.

Registered with mailboxes' send actions (``mailboxes.sending.send_actions``), which explains
the flow: the choice is checked when Send is pressed, stored with the email, and applied only
when the server has accepted the email, in the transaction that marks it Sent; its stream
note then says "Ali sent an email and set the status to Pending". So a send that fails
leaves the case as it was (the Failed email, with Retry, is on the case page), an undone or
later send changes the case when it really leaves, and nothing needs undoing.

When the case changed in between (someone else set another status or assignee after the
reply was sent), the later change wins: that part is left out and the note says so.
Editing a case is open to whoever may see it (the record screens' rule); the choice is
checked again for the sender when it is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cases import messages
from cases.distribution import case_assignment_set
from cases.models import Case
from cases.notification_reasons import CASE_ASSIGNED
from crm.access import users_access
from crm.events import event_publish
from crm.kinds import ASSIGNED
from crm.messages import Message
from crm.models import Follow, Notification, User
from crm.notifications import notification_create
from mailboxes.models import Email, OutgoingMessage
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.send_actions import TOLD

# the statuses the reply box's buttons set, in the order they are shown
REPLY_STATUSES = (Case.Status.PENDING, Case.Status.CLOSED)


def case_editable(user, case: Case) -> bool:
    """Whether ``user`` may change ``case`` (status, assignee): whoever may open it."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return Case.objects.visible_to(user).filter(pk=case.pk).exists()


def case_assignable_users(case: Case) -> QuerySet[User]:
    """Who a case may be given to: active users whose role lets them open cases (assigned,
    they see it), and its current assignee."""
    active = list(User.objects.filter(is_active=True).values_list("pk", flat=True))
    allowed = [pk for pk, (level, _teams) in users_access(active, "case").items() if level != "no"]
    if case.assigned_user_id:
        allowed.append(case.assigned_user_id)
    return User.objects.filter(pk__in=allowed).order_by("first_name", "last_name", "username")


def case_reply_offer(user, parent) -> dict | None:
    """The reply box's controls for a case ``user`` may change (None otherwise)."""
    if not isinstance(parent, Case) or not case_editable(user, parent):
        return None
    return {
        "case": parent,
        "statuses": [
            (status.value, status.label) for status in REPLY_STATUSES if status != parent.status
        ],
        "assignees": case_assignable_users(parent),
    }


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def case_reply_clean(user, parent, data: Mapping[str, Any]) -> dict:
    """What the sender chose (``case_status`` from the button pressed, ``case_assignee``
    from the select): the stored choice with what the case was when they chose it."""
    status = (data.get("case_status") or "").strip()
    assignee_id = _int_or_none(data.get("case_assignee"))
    if not isinstance(parent, Case):
        if status or assignee_id:
            raise SendError(_("Only a case's status can be set when sending."))
        return {}
    if assignee_id == parent.assigned_user_id:
        assignee_id = None
    if not status and assignee_id is None:
        return {}
    if not case_editable(user, parent):
        raise SendError(_("You may not change this case."))
    if status and status not in REPLY_STATUSES:
        raise SendError(_("That status cannot be set when sending."))
    if assignee_id is not None and not case_assignable_users(parent).filter(pk=assignee_id):
        raise SendError(_("This case cannot be assigned to that user."))
    params: dict[str, Any] = {"case_id": parent.pk}
    if status:
        params.update(status=status, from_status=parent.status)
    if assignee_id is not None:
        params.update(assignee_id=assignee_id, from_assignee_id=parent.assigned_user_id)
    return params


def case_reply_apply(email: Email, params: dict, user) -> dict:
    """Set the status and assignee the sender chose, unless the case changed meanwhile;
    the email's note data saying what was done (and, in ``outcome``, what was not)."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("assigned_user")
        .filter(pk=params.get("case_id"))
        .first()
    )
    if case is None:
        return {}
    if not case_editable(user, case):
        return {"outcome": messages.REPLY_NOT_ALLOWED()}
    note: dict[str, Any] = {}
    kept: list[Message] = []
    assignee = None
    status_before = case.status  # assigning may move New to Assigned
    if "assignee_id" in params:
        assignee = case_assignable_users(case).filter(pk=params["assignee_id"]).first()
        if case.assigned_user_id == params["assignee_id"]:
            assignee = None  # someone did it meanwhile
        elif case.assigned_user_id != params.get("from_assignee_id"):
            kept.append(messages.REPLY_ASSIGNEE_KEPT(user=str(case.assigned_user or "")))
            assignee = None
        elif assignee is not None:
            case_assignment_set(case, assignee, Message())
            note.update(assignee=str(assignee), assigned_user_id=assignee.pk)
    if "status" in params:
        if status_before == params["status"]:
            pass  # someone did it meanwhile
        elif status_before == params.get("from_status"):
            case.status = params["status"]
            note["status"] = params["status"]
        else:
            kept.append(messages.REPLY_STATUS_KEPT(status=status_before))
    if note:
        case.save()
        event_publish("case.updated", [case])
    if assignee is not None:
        _assigned_tell(case, assignee, user)
        note[TOLD] = [assignee.pk]
    if kept:
        note["outcome"] = kept[0] if len(kept) == 1 else messages.REPLY_BOTH_KEPT()
    return note


def case_reply_waiting(emails: list[Email]) -> None:
    """Set ``after_send_text`` on the case's emails still to leave (Sending or Failed) that
    will change the case when they do ("When sent: status Pending"), for the case page."""
    waiting = [e for e in emails if e.status in (Email.Status.SENDING, Email.Status.FAILED)]
    if not waiting:
        return
    chosen = dict(
        OutgoingMessage.objects.filter(pk__in=[e.pk for e in waiting]).values_list(
            "pk", "after_send"
        )
    )
    names = {}
    assignee_ids = {
        (chosen.get(e.pk) or {}).get("case", {}).get("assignee_id") for e in waiting
    } - {None}
    if assignee_ids:
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=assignee_ids)}
    for email in waiting:
        params = (chosen.get(email.pk) or {}).get("case") or {}
        status = dict(Case.Status.choices).get(params.get("status"), "")
        assignee = names.get(params.get("assignee_id"), "")
        if status and assignee:
            text = _("When sent: status %(status)s, assigned to %(user)s.")
        elif status:
            text = _("When sent: status %(status)s.")
        elif assignee:
            text = _("When sent: assigned to %(user)s.")
        else:
            continue
        email.after_send_text = text % {"status": status, "user": assignee}


def _assigned_tell(case: Case, assignee: User, user) -> None:
    """The new assignee follows the case and is told (unless they reassigned it to
    themselves or turned "a case is assigned to me" off); the email's note is the entry."""
    Follow.objects.get_or_create(
        user=assignee,
        content_type=ContentType.objects.get_for_model(Case),
        object_id=case.pk,
    )
    if user is not None and assignee.pk == user.pk:
        return
    notification_create(
        user=assignee,
        type=Notification.Type.ASSIGNED,
        related=case,
        data=ASSIGNED.data(by=str(user or ""), case_id=case.pk, case_number=case.number),
        reason=CASE_ASSIGNED,
    )
