"""Users, teams, a case with its contact and a group mailbox the email templates tests share."""

from __future__ import annotations

import pytest
from django.utils import translation

from cases.models import Case
from crm.models import Account, Contact, Team, TeamMembership, User
from mailboxes.models import GroupEmailAccount
from mailtemplates.models import EmailTemplate
from tests.crm.conftest import logged_in  # noqa: F401  (the test client, logged in)
from tests.mailboxes.sending.conftest import role

Visibility = EmailTemplate.Visibility


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def make_template(owner: User, visibility: str = Visibility.PRIVATE, teams=(), **fields):
    fields.setdefault("name", f"{owner.username} {visibility}")
    template = EmailTemplate.objects.create(owner=owner, visibility=visibility, **fields)
    template.teams.set(teams)
    return template


@pytest.fixture
def support(db) -> Team:
    return Team.objects.create(name="Support")


@pytest.fixture
def sales(db) -> Team:
    return Team.objects.create(name="Sales")


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser("admin", "admin@acme.test", "pw")


@pytest.fixture
def alice(support) -> User:
    """An agent of Support who may read cases and send as the group mailbox."""
    user = User.objects.create_user(
        "alice", "alice@acme.test", "pw", first_name="Alice", last_name="Kaya"
    )
    TeamMembership.objects.create(team=support, user=user)
    user.roles.add(role("team"))
    return user


@pytest.fixture
def bob(support) -> User:
    user = User.objects.create_user("bob", "bob@acme.test", "pw")
    TeamMembership.objects.create(team=support, user=user)
    return user


@pytest.fixture
def carol(sales) -> User:
    user = User.objects.create_user("carol", "carol@acme.test", "pw")
    TeamMembership.objects.create(team=sales, user=user)
    return user


@pytest.fixture
def mailbox(support) -> GroupEmailAccount:
    account = GroupEmailAccount.objects.create(
        name="Support desk",
        email_address="support@acme.test",
        from_name="Acme Support",
        use_smtp=True,
        smtp_host="smtp.acme.test",
        smtp_is_shared=True,
    )
    account.teams.set([support])
    return account


@pytest.fixture
def case(alice, mailbox) -> Case:
    account = Account.objects.create(name="Acme Ltd")
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz", account=account)
    return Case.objects.create(
        name="Printer broken",
        group_account=mailbox,
        contact=contact,
        account=account,
        assigned_user=alice,
    )
