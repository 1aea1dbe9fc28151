"""Case distribution: direct, round-robin (also with concurrent workers), least-busy."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from cases.distribution import case_assign_by_rule, least_busy_candidates
from cases.models import Case, CaseDistribution
from crm.kinds import notification_line
from crm.models import Follow, Note, Notification, TeamMembership
from tests.cases.conftest import join, make_user, run_workers

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks between connections: PostgreSQL"
)


def new_case(account, name="Printer broken", **fields) -> Case:
    case = Case(name=name, group_account=account, **fields)
    case_assign_by_rule(case=case, account=account)
    return case


def open_cases_for(user, count, status=Case.Status.ASSIGNED, assigned_at=None):
    for i in range(count):
        Case.objects.create(
            name=f"old {i}", assigned_user=user, status=status, assigned_at=assigned_at
        )


# --- direct -----------------------------------------------------------------------------------


def test_direct_assigns_the_accounts_user(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.DIRECT, assign_to_user=agents[1])
    case = new_case(account)
    case.refresh_from_db()
    assert case.assigned_user == agents[1]
    assert case.status == Case.Status.ASSIGNED
    assert "Direct" in str(case.assignment_reason)


def test_direct_to_an_inactive_user_leaves_case_unassigned(make_account, agents):
    agents[1].is_active = False
    agents[1].save()
    account = make_account(case_distribution=CaseDistribution.DIRECT, assign_to_user=agents[1])
    case = new_case(account)
    assert case.assigned_user is None
    assert case.status == Case.Status.NEW
    assert "not active" in str(case.assignment_reason)


def test_direct_without_user_leaves_case_unassigned_with_reason(make_account):
    case = new_case(make_account(case_distribution=CaseDistribution.DIRECT))
    assert case.assigned_user is None
    assert str(case.assignment_reason).startswith("Unassigned:")


# --- what every assignment does ---------------------------------------------------------------


def test_assignee_follows_case_and_is_notified(make_account, agents):
    case = new_case(make_account())
    case_type = ContentType.objects.get_for_model(Case)
    assert Follow.objects.filter(user=agents[0], content_type=case_type, object_id=case.pk).exists()
    notification = Notification.objects.get(user=agents[0])
    assert notification.type == Notification.Type.ASSIGNED
    assert notification.related == case
    line = notification_line(notification, html=False)
    assert line == f"Support assigned {case} to you"
    assert Note.objects.filter(parent_type=case_type, parent_id=case.pk, type="assign").exists()


# --- round-robin ------------------------------------------------------------------------------


def test_round_robin_30_cases_over_3_agents_gives_10_each(make_account, agents):
    account = make_account()
    for i in range(30):
        new_case(account, name=f"case {i}")
    counts = Counter(Case.objects.values_list("assigned_user__username", flat=True))
    assert counts == {"ali": 10, "berna": 10, "cem": 10}


def test_round_robin_rotates_in_user_id_order_and_stores_position(make_account, agents):
    account = make_account()
    picked = [new_case(account).assigned_user for _ in range(4)]
    assert picked == [agents[0], agents[1], agents[2], agents[0]]
    account.refresh_from_db()
    assert account.round_robin_last_user == agents[0]


def test_round_robin_position_is_per_account(make_account, agents):
    first = make_account()
    second = make_account(name="Sales", email_address="sales@postaci.example")
    assert new_case(first).assigned_user == agents[0]
    assert new_case(first).assigned_user == agents[1]
    assert new_case(second).assigned_user == agents[0]


def test_round_robin_continues_after_a_removed_last_user(make_account, agents):
    account = make_account()
    new_case(account)
    new_case(account)  # berna got the last one
    TeamMembership.objects.filter(user=agents[1]).delete()
    assert new_case(account).assigned_user == agents[2]
    assert new_case(account).assigned_user == agents[0]


def test_inactive_users_and_wrong_role_never_get_cases(make_account, team, agents):
    account = make_account(target_team_role="Tier 1")
    TeamMembership.objects.filter(user=agents[0]).update(position="Tier 1")
    TeamMembership.objects.filter(user=agents[1]).update(position="Tier 2")
    sleepy = join(team, make_user("deniz", active=False), position="Tier 1")
    tier1 = join(team, make_user("ece"), position="tier 1")
    assignees = {new_case(account).assigned_user for _ in range(10)}
    assert assignees == {agents[0], tier1}
    assert sleepy not in assignees


def test_no_eligible_member_leaves_case_unassigned_with_reason(make_account, team, agents):
    account = make_account(target_team_role="Tier 3")
    case = new_case(account)
    case.refresh_from_db()
    assert case.assigned_user is None
    assert case.status == Case.Status.NEW
    assert "Tier 3" in str(case.assignment_reason)
    assert "Support" in str(case.assignment_reason)
    assert not Notification.objects.exists()


def test_no_target_team_leaves_case_unassigned_with_reason(make_account):
    case = new_case(make_account(target_team=None))
    assert case.assigned_user is None
    assert "no target team" in str(case.assignment_reason)


def _create_cases(account, name: str) -> None:
    for i in range(15):
        with transaction.atomic():
            new_case(account, name=f"{name} {i}")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_round_robin_with_two_concurrent_workers_stays_fair(make_account, agents):
    account = make_account()
    errors = run_workers(account.pk, _create_cases, ["w1", "w2"])
    assert errors == []
    assigned = list(Case.objects.order_by("number").values_list("assigned_user_id", flat=True))
    assert len(assigned) == 30
    assert Counter(assigned) == {agents[0].pk: 10, agents[1].pk: 10, agents[2].pk: 10}
    # in commit order the rotation never skips or repeats anyone: nobody was picked twice
    ids = [a.pk for a in agents]
    assert assigned == ids * 10
    # both workers really ran at the same time
    names = {name.split()[0] for name in Case.objects.values_list("name", flat=True)}
    assert names == {"w1", "w2"}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_second_worker_waits_for_the_first_and_picks_the_next_user(make_account, agents):
    account = make_account()
    first_decided = threading.Event()
    release_first = threading.Event()
    picks: dict[str, int] = {}

    def first():
        try:
            with transaction.atomic():
                picks["first"] = new_case(account, name="first").assigned_user_id
                first_decided.set()
                release_first.wait(10)  # a long intake batch still open
        finally:
            connection.close()

    def second():
        try:
            first_decided.wait(10)
            with transaction.atomic():
                picks["second"] = new_case(account, name="second").assigned_user_id
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second worker must wait for the account lock"
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert picks == {"first": agents[0].pk, "second": agents[1].pk}


# --- least-busy -------------------------------------------------------------------------------


def test_least_busy_picks_the_agent_with_fewest_open_cases(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    open_cases_for(agents[0], 2)
    open_cases_for(agents[1], 3, status=Case.Status.CLOSED)  # closed work does not count
    open_cases_for(agents[1], 1, status=Case.Status.REJECTED)
    open_cases_for(agents[1], 1, status=Case.Status.PENDING)
    open_cases_for(agents[2], 2, status=Case.Status.NEW)
    case = new_case(account)
    assert case.assigned_user == agents[1]
    assert case.status == Case.Status.ASSIGNED
    assert "1 open case" in str(case.assignment_reason)


def test_least_busy_tie_goes_to_who_was_assigned_longest_ago(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    now = timezone.now()
    open_cases_for(agents[0], 1, assigned_at=now - timedelta(minutes=1))
    open_cases_for(agents[1], 1, assigned_at=now - timedelta(hours=3))
    open_cases_for(agents[2], 1, assigned_at=now - timedelta(hours=1))
    assert new_case(account).assigned_user == agents[1]
    # now berna has 2; ali and cem tie on 1 and cem waited longer
    assert new_case(account).assigned_user == agents[2]


def test_least_busy_never_assigned_agent_goes_first_on_a_tie(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    open_cases_for(agents[0], 1, assigned_at=timezone.now())
    open_cases_for(agents[1], 0)
    open_cases_for(agents[2], 1, status=Case.Status.CLOSED, assigned_at=timezone.now())
    assert new_case(account).assigned_user == agents[1]


def test_least_busy_spreads_new_cases_evenly(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    for i in range(30):
        new_case(account, name=f"case {i}")
    counts = Counter(Case.objects.values_list("assigned_user__username", flat=True))
    assert counts == {"ali": 10, "berna": 10, "cem": 10}


@override_settings(POSTACI_CASE_OPEN_STATUSES=["new", "assigned"])
def test_least_busy_open_statuses_come_from_settings(make_account, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    open_cases_for(agents[0], 3, status=Case.Status.PENDING)  # not open by this setting
    open_cases_for(agents[1], 1)
    open_cases_for(agents[2], 1)
    assert new_case(account).assigned_user == agents[0]


def test_least_busy_counts_in_one_query_whatever_the_team_size(
    make_account, team, agents, django_assert_num_queries
):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY)
    extra = [join(team, make_user(f"agent{i}")) for i in range(12)]
    for user in [*agents, *extra]:
        open_cases_for(user, 2)
    open_cases_for(extra[5], 1, status=Case.Status.CLOSED)
    lazy = make_user("lazy")
    join(team, lazy)
    with django_assert_num_queries(1):
        best = least_busy_candidates(account).first()
    assert best == lazy
    assert best.open_cases == 0


def test_least_busy_skips_inactive_and_wrong_role(make_account, team, agents):
    account = make_account(case_distribution=CaseDistribution.LEAST_BUSY, target_team_role="Tier 1")
    TeamMembership.objects.filter(user__in=agents[:2]).update(position="Tier 1")
    open_cases_for(agents[0], 5)
    open_cases_for(agents[1], 4)
    join(team, make_user("idle_inactive", active=False), position="Tier 1")
    assert new_case(account).assigned_user == agents[1]  # cem (no role) has 0 but is excluded
