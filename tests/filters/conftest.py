"""Fixtures for the filters tests: users, accounts, folders, messages and stored emails."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from crm.addresses import addresses_get_or_create
from crm.models import User
from filters.models import EmailFilter
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import ParsedAddress, ParsedMessage
from mailboxes.models import (
    Email,
    EmailFolder,
    EmailRecipient,
    EmailUser,
    GroupEmailAccount,
    GroupEmailFolder,
    PersonalEmailAccount,
    RawMessage,
)
from tests.mailboxes.conftest import (  # noqa: F401  (fixtures for the fetch tests)
    make_group_account,
    make_personal_account,
)

_counter = itertools.count(1)


def parsed(
    *,
    sender: str = "someone@example.com",
    to: tuple[str, ...] = ("support@acme.test",),
    cc: tuple[str, ...] = (),
    subject: str = "Hello",
    text: str = "",
    html: str = "",
    headers_only: bool = False,
) -> ParsedMessage:
    """A ParsedMessage as the parser would make it (addresses lower-cased)."""
    return ParsedMessage(
        message_id=f"<{next(_counter)}@test>",
        subject=subject,
        sender=ParsedAddress(sender.lower()) if sender else None,
        to=[ParsedAddress(a.lower()) for a in to],
        cc=[ParsedAddress(a.lower()) for a in cc],
        body_text=text,
        body_html=html,
        headers_only=headers_only,
    )


def make_filter(**fields) -> EmailFilter:
    """An unsaved filter; defaults to an inbox filter with no action."""
    fields.setdefault("name", "test filter")
    fields.setdefault("scope", EmailFilter.Scope.USER_INBOX)
    fields.setdefault("action", EmailFilter.Action.NONE)
    return EmailFilter(**fields)


def save_filter(**fields) -> EmailFilter:
    obj = make_filter(**fields)
    obj.full_clean()
    obj.save()
    return obj


def store_email(
    message: ParsedMessage,
    *,
    account=None,
    users=(),
    minutes_ago: int = 0,
    status: str = Email.Status.IMPORTED,
) -> Email:
    """Store a message roughly as the intake's store and recipients steps would."""
    addresses = addresses_get_or_create(
        [message.sender.address if message.sender else ""]
        + [a.address for a in message.to + message.cc]
    )
    email = Email.objects.create(
        message_id=message.message_id,
        subject=message.subject,
        from_address=addresses.get(message.sender.address) if message.sender else None,
        body_text=message.body_text,
        body_html=message.body_html,
        date_sent=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(minutes=minutes_ago),
        status=status,
    )
    for kind, group in ((EmailRecipient.Kind.TO, message.to), (EmailRecipient.Kind.CC, message.cc)):
        for position, address in enumerate(group):
            EmailRecipient.objects.create(
                email=email, address=addresses[address.address], kind=kind, position=position
            )
    if account is not None:
        email.accounts.add(account)
    for user in users:
        EmailUser.objects.create(email=email, user=user)
    return email


def context(run: FetchRun, message: ParsedMessage | None, **fields) -> IntakeContext:
    raw = RawMessage(account=run.account, folder="INBOX", uidvalidity=1, uid=next(_counter))
    return IntakeContext(run=run, folder="INBOX", raw=raw, parsed=message, **fields)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 costs ~0.3 s per user created; these tests never check passwords
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser("admin", "admin@acme.test", "pw")


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", "alice@acme.test", "pw")


@pytest.fixture
def bob(db) -> User:
    return User.objects.create_user("bob", "bob@acme.test", "pw")


@pytest.fixture
def group_account(db) -> GroupEmailAccount:
    return GroupEmailAccount.objects.create(name="Support", email_address="support@acme.test")


@pytest.fixture
def other_group_account(db) -> GroupEmailAccount:
    return GroupEmailAccount.objects.create(name="Sales", email_address="sales@acme.test")


@pytest.fixture
def alice_account(alice) -> PersonalEmailAccount:
    return PersonalEmailAccount.objects.create(
        name="Alice", email_address="alice@acme.test", owner=alice
    )


@pytest.fixture
def bob_account(bob) -> PersonalEmailAccount:
    return PersonalEmailAccount.objects.create(name="Bob", email_address="bob@acme.test", owner=bob)


@pytest.fixture
def billing_folder(db) -> GroupEmailFolder:
    return GroupEmailFolder.objects.create(name="Billing")


@pytest.fixture
def alice_folder(alice) -> EmailFolder:
    return EmailFolder.objects.create(user=alice, name="Invoices")


@pytest.fixture
def bob_folder(bob) -> EmailFolder:
    return EmailFolder.objects.create(user=bob, name="Bob's folder")
