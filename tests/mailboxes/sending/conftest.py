"""Accounts whose SMTP points at the test aiosmtpd servers, and users with a Group Email
Account level."""

from __future__ import annotations

import pytest

from crm.models import Role
from mailboxes.models import GroupEmailAccount, PersonalEmailAccount, Security
from tests.crm.conftest import (  # noqa: F401  (shared fixtures)
    fast_password_hasher,
    logged_in,
    make_record,
    make_user,
    team,
)


def smtp_fields(server, *, auth: bool = False) -> dict:
    security = {"none": Security.NONE, "starttls": Security.STARTTLS, "implicit": Security.SSL}
    user, password = server.auth or ("", "")
    return {
        "use_smtp": True,
        "smtp_host": "localhost" if server.tls != "none" else server.host,
        "smtp_port": server.port,
        "smtp_security": security[server.tls],
        "smtp_auth": bool(server.auth) or auth,
        "smtp_username": user,
        "smtp_password": password,
    }


@pytest.fixture
def make_smtp_group(db):
    counter = iter(range(1, 1000))

    def make(server, *, teams=(), **fields) -> GroupEmailAccount:
        n = next(counter)
        values = {
            "name": f"Support {n}",
            "email_address": f"support{n}@example.test",
            "use_imap": False,
            "smtp_is_shared": True,
            **smtp_fields(server),
        }
        values.update(fields)
        account = GroupEmailAccount.objects.create(**values)
        account.teams.set(teams)
        return account

    return make


@pytest.fixture
def make_smtp_personal(db):
    counter = iter(range(1, 1000))

    def make(owner, server, **fields) -> PersonalEmailAccount:
        n = next(counter)
        values = {
            "name": f"Mine {n}",
            "email_address": f"{owner.username}.{n}@example.test",
            "use_imap": False,
            **smtp_fields(server),
        }
        values.update(fields)
        return PersonalEmailAccount.objects.create(owner=owner, **values)

    return make


def role(level: str, name: str | None = None, **access) -> Role:
    """A role with the Group Email Account level and ``all`` access to records and emails."""
    fields = {
        f"{scope}_access": "all"
        for scope in ("email", "case", "account", "contact", "lead", "opportunity")
    }
    fields.update(access)
    return Role.objects.create(
        name=name or f"gea-{level}-{Role.objects.count()}", group_email_account=level, **fields
    )
