"""Meetings: a user with a personal mailbox on the test Dovecot that sends through the test
SMTP server, and a contact (the organizer) the invitations link to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from crm.models import Contact, User
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, PersonalEmailAccount
from tests.crm.conftest import (  # noqa: F401  (fixtures)
    fast_password_hasher,
    logged_in,
    make_record,
    make_user,
)
from tests.mailboxes.conftest import make_personal_account  # noqa: F401
from tests.mailboxes.sending.conftest import smtp_fields


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@dataclass
class Desk:
    """Ali, his mailbox (IMAP on Dovecot, SMTP to the test server) and the organizer's
    contact record."""

    user: User
    account: PersonalEmailAccount
    address: str
    contact: Contact
    dovecot: object
    imap_user: object
    smtp: object

    def receive(self, message: bytes) -> Email:
        """Deliver into Ali's mailbox and fetch it through the real intake."""
        self.dovecot.deliver(self.imap_user, message)
        assert fetch_account(self.account.pk).imported == 1
        return Email.objects.filter(status=Email.Status.IMPORTED).latest("pk")


@pytest.fixture
def desk(make_user, make_personal_account, make_record, dovecot, imap_user, smtp_server) -> Desk:  # noqa: F811
    user = make_user("ali", first_name="Ali", last_name="Kaya", time_zone="America/New_York")
    account = make_personal_account(user, imap_user, **smtp_fields(smtp_server))
    contact = make_record(
        "contact",
        user,
        first_name="Ayşe",
        last_name="Yılmaz",
        addresses=["ayse@acme.example", "mehmet@customer.example"],
    )
    return Desk(user, account, imap_user.email, contact, dovecot, imap_user, smtp_server)
