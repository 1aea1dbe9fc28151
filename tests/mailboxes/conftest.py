"""Accounts pointing at the test Dovecot, and message builders."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from mailboxes.models import GroupEmailAccount, PersonalEmailAccount, Security

_counter = itertools.count(1)


def make_message(
    *,
    subject: str | None = None,
    sender: str = "Customer <customer@example.com>",
    to: str = "support@example.test",
    body: str = "Hello, I need help with my order.",
    message_id: str | None = None,
    size: int | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    """A realistic RFC 5322 message; ``size`` pads the body to about that many bytes."""
    n = next(_counter)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject if subject is not None else f"Question number {n}"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    if size:
        body = (body + "\n") + ("lorem ipsum dolor sit amet " * (size // 27 + 1))[
            : max(size - 600, 0)
        ]
    message.set_content(body)
    for filename, content_type, payload in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def _imap_fields(dovecot, imap_user) -> dict:
    return {
        "imap_host": dovecot.host,
        "imap_port": dovecot.imap_port,
        "imap_security": Security.NONE,
        "imap_username": imap_user.username,
        "imap_password": imap_user.password,
        "email_address": imap_user.email,
    }


@pytest.fixture
def make_group_account(dovecot):
    def factory(imap_user, **fields) -> GroupEmailAccount:
        teams = fields.pop("teams", [])
        values = {"name": f"Group {imap_user.username}", **_imap_fields(dovecot, imap_user)}
        values.update(fields)
        account = GroupEmailAccount.objects.create(**values)
        account.teams.set(teams)
        return account

    return factory


@pytest.fixture
def make_personal_account(dovecot):
    def factory(owner, imap_user, **fields) -> PersonalEmailAccount:
        values = {"name": f"Personal {imap_user.username}", **_imap_fields(dovecot, imap_user)}
        values.update(fields)
        return PersonalEmailAccount.objects.create(owner=owner, **values)

    return factory


def subprocess_env() -> dict[str, str]:
    """Environment for a ``manage.py`` child process that uses the test database."""
    import os

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    else:
        url = f"sqlite:///{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        POSTACI_TEST_DB_NAME="",
        POSTACI_ENCRYPTION_KEY=",".join(settings.POSTACI_ENCRYPTION_KEYS),
        POSTACI_MAIL_HOST_ALLOWLIST=",".join(settings.POSTACI_MAIL_HOST_ALLOWLIST),
        POSTACI_VAR_DIR=str(settings.VAR_DIR),
        CELERY_BROKER_URL="memory://",
    )
    return env
