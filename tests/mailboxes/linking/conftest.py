"""Users, records and a group mailbox for the linking and notification tests."""

from __future__ import annotations

import pytest

from mailboxes.models import GroupEmailAccount
from tests.crm.conftest import (  # noqa: F401  (fixtures shared with the CRM tests)
    fast_password_hasher,
    logged_in,
    make_record,
    make_user,
    other_team,
    team,
)
from tests.mailboxes.conftest import make_group_account  # noqa: F401  (Dovecot accounts)


@pytest.fixture
def mailbox(db, team) -> GroupEmailAccount:  # noqa: F811
    """A group mailbox whose mail goes to the Sales team (not connected to any server)."""
    account = GroupEmailAccount.objects.create(
        name="Sales", email_address="sales@postaci.example", for_all_team_users=True
    )
    account.teams.set([team])
    return account


@pytest.fixture
def owner(make_user):  # noqa: F811
    """Owns the records; reads everything."""
    return make_user("owner", level="all")


@pytest.fixture
def acme(make_record, owner):  # noqa: F811
    """A customer Account that mails from info@acme.example."""
    return make_record("account", owner, name="Acme", addresses=["info@acme.example"])
