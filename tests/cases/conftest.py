"""Rows the cases tests share: a support team with agents, and a group account."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from cases.models import CaseDistribution
from crm.models import Team, TeamMembership, User
from mailboxes.models import GroupEmailAccount
from tests.crm.conftest import logged_in  # noqa: F401  (the test client, logged in)
from tests.mailboxes.conftest import make_group_account  # noqa: F401  (accounts on Dovecot)


def make_user(username: str, *, active: bool = True, email: str = "") -> User:
    return User.objects.create_user(
        username=username, email=email or f"{username}@postaci.example", is_active=active
    )


def case_updated_endpoint():
    """An administrator's webhook endpoint for ``case.updated`` (its deliveries are rows
    written with the change; nothing is sent in these tests)."""
    from webhooks.models import WebhookEndpoint

    owner = User.objects.create_superuser("hooks", "hooks@postaci.example", "hooks-pass-1")
    return WebhookEndpoint.objects.create(
        name="Billing",
        url="https://hooks.example/in",
        secret="s",
        owner=owner,
        events=["case.updated"],
    )


def join(team: Team, user: User, position: str = "") -> User:
    TeamMembership.objects.create(team=team, user=user, position=position)
    return user


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Support")


@pytest.fixture
def agents(team) -> list[User]:
    return [join(team, make_user(name)) for name in ("ali", "berna", "cem")]


@pytest.fixture
def make_account(db, team):
    def make(**fields) -> GroupEmailAccount:
        fields.setdefault("name", "Support")
        fields.setdefault("email_address", "support@postaci.example")
        fields.setdefault("create_case", True)
        fields.setdefault("target_team", team)
        fields.setdefault("case_distribution", CaseDistribution.ROUND_ROBIN)
        return GroupEmailAccount.objects.create(**fields)

    return make


def run_workers(account_pk: int, work: Callable[[GroupEmailAccount, str], None], names) -> list:
    """Run ``work(account, name)`` in one thread per name, all started at once (each thread
    has its own database connection, closed at the end); return what they raised."""
    start = threading.Barrier(len(names))
    errors: list = []

    def worker(name: str) -> None:
        try:
            account = GroupEmailAccount.objects.get(pk=account_pk)
            start.wait()
            work(account, name)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,), name=name) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors
