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
from crm.bulk import bulk_insert_rows
from crm.events import event_publish
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


class Distributor:
    """The account's rule, deciding the assignee of one case after another for a batch.

    What the rule needs is read once, under a lock on the account's case settings row held
    until the batch commits (two workers never decide for one account at once): the team for
    round-robin, with the stored cursor; the team with its open-case counts for least-busy (one
    aggregate query), to which each case decided here is added. ``finish`` stores the
    round-robin cursor. So a batch of any size costs the same few statements, and deciding
    its cases one by one or together gives the same assignees.
    """

    def __init__(self, account: GroupEmailAccount, now: datetime | None = None) -> None:
        self.account = account
        self.own = case_settings_of(account)
        self.now = now or timezone.now()
        self._candidates: list[User] | None = None
        self._cursor: int | None = None
        self._moved = False

    def next(self) -> tuple[User | None, Message]:
        """The next case's assignee (None: it stays unassigned) and why."""
        rule = self.own.case_distribution
        if rule == CaseDistribution.DIRECT:
            return self._direct()
        if rule not in (CaseDistribution.ROUND_ROBIN, CaseDistribution.LEAST_BUSY):
            return None, messages.NO_RULE()
        if self.own.target_team_id is None:
            if rule == CaseDistribution.ROUND_ROBIN:
                return None, messages.ROUND_ROBIN_NO_TEAM()
            return None, messages.LEAST_BUSY_NO_TEAM()
        if self._candidates is None:
            self._load(rule)
        if not self._candidates:
            return None, self._nobody_reason()
        if rule == CaseDistribution.ROUND_ROBIN:
            return self._round_robin()
        return self._least_busy()

    def finish(self) -> None:
        """Store where round-robin stopped (one UPDATE, only when it moved)."""
        if self._moved:
            GroupAccountCases.objects.filter(pk=self.account.pk).update(
                round_robin_last_user_id=self._cursor
            )
            self.own.round_robin_last_user_id = self._cursor
            self._moved = False

    def _load(self, rule: str) -> None:
        self._cursor = self._lock()
        if rule == CaseDistribution.ROUND_ROBIN:
            self._candidates = list(team_candidates(self.account))
        else:
            self._candidates = list(least_busy_candidates(self.account))

    def _lock(self) -> int | None:
        """Lock the account's case settings row for this transaction; return its round-robin
        position.

        Only that row is locked, not the account rows the fetcher updates. An account without
        a row yet gets one first. On SQLite the write lock taken at BEGIN IMMEDIATE does the
        same.
        """
        rows = GroupAccountCases.objects.select_for_update().filter(pk=self.account.pk)
        position = list(rows.values_list("round_robin_last_user_id", flat=True))
        if not position:
            self.own.account = self.account
            self.own.save()
            position = list(rows.values_list("round_robin_last_user_id", flat=True))
        return position[0]

    def _nobody_reason(self) -> Message:
        role = (self.own.target_team_role or "").strip()
        if role:
            return messages.NOBODY_WITH_ROLE(team=str(self.own.target_team), role=role)
        return messages.NOBODY(team=str(self.own.target_team))

    def _direct(self) -> tuple[User | None, Message]:
        user = self.account.assign_to_user
        if user is None:
            return None, messages.DIRECT_NO_USER()
        if not user.is_active:
            return None, messages.DIRECT_INACTIVE(user=str(user))
        return user, messages.DIRECT(user=str(user))

    def _round_robin(self) -> tuple[User | None, Message]:
        after = [
            user for user in self._candidates if self._cursor is None or user.pk > self._cursor
        ]
        user = after[0] if after else self._candidates[0]  # start, or wrap around
        self._cursor, self._moved = user.pk, True
        return user, messages.ROUND_ROBIN(team=str(self.own.target_team))

    def _least_busy(self) -> tuple[User | None, Message]:
        def load(user: User) -> tuple:
            last = user.last_assigned_at
            return (user.open_cases, last is not None, last, user.pk)

        user = min(self._candidates, key=load)
        reason = messages.LEAST_BUSY(team=str(self.own.target_team), count=user.open_cases)
        user.open_cases += 1  # the case decided now counts for the next one
        user.last_assigned_at = self.now
        return user, reason


def case_assign_by_rule(
    *, case: Case, account: GroupEmailAccount, now: datetime | None = None
) -> User | None:
    """Assign ``case`` by the account's distribution rule and save it.

    The rule's decision, the account's round-robin position and the case are written in one
    transaction, under a row lock on the account. Returns the assignee, or None when the case
    stays unassigned (its ``assignment_reason`` says why).
    """
    with transaction.atomic():
        distributor = Distributor(account, now)
        user, reason = distributor.next()
        distributor.finish()
        if user is None:
            case_leave_unassigned(case=case, reason=reason)
        else:
            case_assign(case=case, user=user, reason=reason, now=distributor.now, by=account.name)
    return user


def case_assignment_set(
    case: Case, user: User | None, reason: Message, now: datetime | None = None
) -> None:
    """Set the assignment fields of ``case`` (not saved): the user, when, why and the status
    (New ↔ Assigned)."""
    if user is None:
        case.assigned_user = None
        case.assigned_at = None
        case.assignment_reason = messages.UNASSIGNED(reason=reason)
        if case.status == Case.Status.ASSIGNED:
            case.status = Case.Status.NEW
        return
    case.assigned_user = user
    case.assigned_at = now or timezone.now()
    case.assignment_reason = reason
    if case.status == Case.Status.NEW:
        case.status = Case.Status.ASSIGNED


def case_leave_unassigned(*, case: Case, reason: Message) -> None:
    case_assignment_set(case, None, reason)
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
    case_assignment_set(case, user, reason or Message(), now)
    case.save()
    cases_assigned_publish([case], by=by)


def cases_assigned_publish(
    cases: list[Case],
    *,
    by: str = "",
    quiet: bool = False,
    created: bool = False,
    memo: dict | None = None,
) -> None:
    """What follows the assignment of saved cases (each with its ``assigned_user`` loaded):
    the assignee follows the case, an "assigned" stream note, and a notification unless the
    user turned "a case is assigned to me" off. A few statements for any number of cases.

    ``quiet`` (cases opened from history, ``run_is_history``): the follow and the note, but
    no notification and no ``case.assigned`` event. ``created``: the cases were inserted in
    this transaction, so nobody follows them yet (the follows go in as plain rows).
    ``memo``: the caller's per-run memo for the event's listeners (``crm.events``)."""
    cases = [case for case in cases if case.assigned_user_id]
    if not cases:
        return
    if not quiet:
        event_publish("case.assigned", cases, memo=memo)
    content_type = ContentType.objects.get_for_model(Case)
    if created:
        bulk_insert_rows(
            Follow,
            [
                {
                    "user_id": c.assigned_user_id,
                    "content_type_id": content_type.pk,
                    "object_id": c.pk,
                }
                for c in cases
            ],
            return_ids=False,
        )
    else:
        Follow.objects.bulk_create(
            [
                Follow(user_id=c.assigned_user_id, content_type=content_type, object_id=c.pk)
                for c in cases
            ],
            ignore_conflicts=True,
        )
    note_ids = bulk_insert_rows(
        Note,
        [
            {
                "parent_type_id": content_type.pk,
                "parent_id": case.pk,
                "type": Note.Type.ASSIGN,
                "data": assign_data(
                    case.assigned_user, reason=case.assignment_reason or None, by=by
                ),
            }
            for case in cases
        ],
    )
    bulk_insert_rows(
        Notification,
        [
            {
                "user_id": case.assigned_user_id,
                "type": Notification.Type.ASSIGNED,
                "reason": CASE_ASSIGNED,
                "note_id": note_id,
                "related_type_id": content_type.pk,
                "related_id": case.pk,
                "data": ASSIGNED.data(by=by, case_id=case.pk, case_number=case.number),
            }
            for case, note_id in zip(cases, note_ids, strict=True)
            if not quiet and wants(case.assigned_user.notification_preferences or {}, CASE_ASSIGNED)
        ],
        return_ids=False,
    )
