"""Who gets a new case: the group account's rule (direct, round-robin or least-busy).

Candidates are the active members of the account's target team, narrowed to those whose role
in that team (``TeamMembership.position``) is the account's target role when one is set.
Whatever the outcome, the case keeps its ``assignment_reason`` (a message: code and parameters,
read in the reader's language), so admins see why a case went to someone or sits unassigned in
the team's queue.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases import messages
from cases.account_settings import case_settings_of
from cases.models import Case, CaseDistribution, GroupAccountCases
from cases.notification_reasons import CASE_ASSIGNED
from crm.kinds import ASSIGNED, assign_data
from crm.messages import Message
from crm.models import Follow, Note, Notification, TeamMembership, User
from crm.notification_reasons import wants
from mailboxes.models import GroupEmailAccount


def team_candidates(account: GroupEmailAccount) -> QuerySet[User]:
    """Active members of the target team (with the target role, if set), by user id."""
    own = case_settings_of(account)
    memberships = TeamMembership.objects.filter(team_id=own.target_team_id)
    role = (own.target_team_role or "").strip()
    if role:
        memberships = memberships.filter(position__iexact=role)
    return User.objects.filter(is_active=True, pk__in=memberships.values("user_id")).order_by("pk")


def _nobody_reason(account: GroupEmailAccount) -> Message:
    own = case_settings_of(account)
    role = (own.target_team_role or "").strip()
    if role:
        return messages.NOBODY_WITH_ROLE(team=str(own.target_team), role=role)
    return messages.NOBODY(team=str(own.target_team))


def _lock_account(account: GroupEmailAccount) -> int | None:
    """Lock the account's case settings row for this transaction; return its round-robin
    position.

    Only that row is locked, not the account rows the fetcher updates. An account without a
    row yet gets one first. On SQLite the write lock taken at BEGIN IMMEDIATE does the same.
    """
    rows = GroupAccountCases.objects.select_for_update().filter(pk=account.pk)
    position = rows.values_list("round_robin_last_user_id", flat=True)
    if not rows.exists():
        own = case_settings_of(account)
        own.account = account
        own.save()
    return position.get()


def _direct(account: GroupEmailAccount) -> tuple[User | None, Message]:
    user = account.assign_to_user
    if user is None:
        return None, messages.DIRECT_NO_USER()
    if not user.is_active:
        return None, messages.DIRECT_INACTIVE(user=str(user))
    return user, messages.DIRECT(user=str(user))


def _round_robin(account: GroupEmailAccount) -> tuple[User | None, Message]:
    own = case_settings_of(account)
    if own.target_team_id is None:
        return None, messages.ROUND_ROBIN_NO_TEAM()
    last_id = _lock_account(account)
    candidates = team_candidates(account)
    user = None
    if last_id is not None:
        user = candidates.filter(pk__gt=last_id).first()
    if user is None:
        user = candidates.first()  # start, or wrap around
    if user is None:
        return None, _nobody_reason(account)
    GroupAccountCases.objects.filter(pk=account.pk).update(round_robin_last_user=user)
    own.round_robin_last_user = user
    return user, messages.ROUND_ROBIN(team=str(own.target_team))


def least_busy_candidates(account: GroupEmailAccount) -> QuerySet[User]:
    """Candidates annotated with ``open_cases`` and ``last_assigned_at``, least busy first.

    One SQL statement whatever the team size: per-user counts are correlated subqueries on the
    ``(assigned_user, status)`` and ``(assigned_user, assigned_at)`` indexes.
    """
    open_cases = (
        Case.objects.filter(
            assigned_user=OuterRef("pk"), status__in=settings.POSTACI_CASE_OPEN_STATUSES
        )
        .order_by()
        .values("assigned_user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_assigned = (
        Case.objects.filter(assigned_user=OuterRef("pk"), assigned_at__isnull=False)
        .order_by("-assigned_at")
        .values("assigned_at")[:1]
    )
    return (
        team_candidates(account)
        .annotate(
            open_cases=Coalesce(Subquery(open_cases), Value(0)),
            last_assigned_at=Subquery(last_assigned),
        )
        .order_by("open_cases", F("last_assigned_at").asc(nulls_first=True), "pk")
    )


def _least_busy(account: GroupEmailAccount) -> tuple[User | None, Message]:
    own = case_settings_of(account)
    if own.target_team_id is None:
        return None, messages.LEAST_BUSY_NO_TEAM()
    _lock_account(account)  # one decision per account at a time, so two workers never race
    user = least_busy_candidates(account).first()
    if user is None:
        return None, _nobody_reason(account)
    return user, messages.LEAST_BUSY(team=str(own.target_team), count=user.open_cases)


RULES = {
    CaseDistribution.DIRECT: _direct,
    CaseDistribution.ROUND_ROBIN: _round_robin,
    CaseDistribution.LEAST_BUSY: _least_busy,
}


def case_assign_by_rule(
    *, case: Case, account: GroupEmailAccount, now: datetime | None = None
) -> User | None:
    """Assign ``case`` by the account's distribution rule and save it.

    The rule's decision, the account's round-robin position and the case are written in one
    transaction, under a row lock on the account. Returns the assignee, or None when the case
    stays unassigned (its ``assignment_reason`` says why).
    """
    rule = RULES.get(case_settings_of(account).case_distribution)
    with transaction.atomic():
        if rule is None:
            user, reason = None, messages.NO_RULE()
        else:
            user, reason = rule(account)
        if user is None:
            case_leave_unassigned(case=case, reason=reason)
        else:
            case_assign(case=case, user=user, reason=reason, now=now, by=account.name)
    return user


def case_leave_unassigned(*, case: Case, reason: Message) -> None:
    case.assigned_user = None
    case.assigned_at = None
    case.assignment_reason = messages.UNASSIGNED(reason=reason)
    if case.status == Case.Status.ASSIGNED:
        case.status = Case.Status.NEW
    case.save()


def case_assign(
    *,
    case: Case,
    user: User,
    reason: Message | None = None,
    now: datetime | None = None,
    by: str = "",
) -> None:
    """Give ``case`` to ``user``: status Assigned, the user follows it and is notified
    (unless they turned "a case is assigned to me" off).

    ``by`` names who decided when it was not a user: the mailbox whose rule chose.
    """
    now = now or timezone.now()
    case.assigned_user = user
    case.assigned_at = now
    case.assignment_reason = reason or Message()
    if case.status == Case.Status.NEW:
        case.status = Case.Status.ASSIGNED
    case.save()
    content_type = ContentType.objects.get_for_model(Case)
    Follow.objects.bulk_create(
        [Follow(user=user, content_type=content_type, object_id=case.pk)], ignore_conflicts=True
    )
    note = Note.objects.create(
        parent_type=content_type,
        parent_id=case.pk,
        type=Note.Type.ASSIGN,
        data=assign_data(user, reason=reason, by=by),
    )
    if not wants(user.notification_preferences or {}, CASE_ASSIGNED):
        return
    Notification.objects.create(
        user=user,
        type=Notification.Type.ASSIGNED,
        reason=CASE_ASSIGNED,
        note=note,
        related_type=content_type,
        related_id=case.pk,
        data=ASSIGNED.data(by=by, case_id=case.pk, case_number=case.number),
    )
