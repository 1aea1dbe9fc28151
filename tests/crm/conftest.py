"""Users with roles and teams, and records owned by them, for the CRM view tests."""

from __future__ import annotations

import pytest

from crm.models import Account, Contact, Lead, Opportunity, Role, Team, TeamMembership, User
from crm.records import record_create

RECORD_MODELS = {
    "account": Account,
    "contact": Contact,
    "lead": Lead,
    "opportunity": Opportunity,
}


def role_with(name: str, level: str, **extra) -> Role:
    """A role giving ``level`` on every record type."""
    fields = {
        f"{scope}_access": level
        for scope in ("email", "case", "account", "contact", "lead", "opportunity")
    }
    return Role.objects.create(name=name, **(fields | extra))


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(
        username: str | None = None,
        *,
        level: str | None = None,
        roles=(),
        teams=(),
        admin: bool = False,
        language: str = "",
        **fields,
    ) -> User:
        username = username or f"user{next(counter)}"
        user = User.objects.create_user(
            username=username,
            password="correct horse battery",
            email=f"{username}@example.com",
            is_superuser=admin,
            is_staff=admin,
            language=language,
            **fields,
        )
        if level:
            user.roles.add(role_with(f"{username}-{level}", level))
        for role in roles:
            user.roles.add(role)
        for team in teams:
            TeamMembership.objects.create(team=team, user=user)
        return user

    return make


@pytest.fixture
def make_record(db):
    """``make_record("account", owner, name=...)``: a record created by and assigned to
    ``owner`` (pass ``assigned_user``/``created_by``/``teams`` to change that)."""

    def make(kind: str, owner: User | None, *, teams=(), addresses=None, **fields):
        model = RECORD_MODELS[kind]
        fields.setdefault("assigned_user", owner)
        if kind in ("account", "opportunity"):
            fields.setdefault("name", f"{kind} of {owner}")
        else:
            fields.setdefault("last_name", f"{kind} of {owner}")
        return record_create(model(**fields), user=owner, teams=teams, addresses=addresses)

    return make


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Sales")


@pytest.fixture
def other_team(db) -> Team:
    return Team.objects.create(name="Support")


@pytest.fixture
def logged_in(client):
    """``logged_in(user)`` logs the test client in as ``user`` and returns the client."""

    def login(user: User):
        client.force_login(user)
        return client

    return login
