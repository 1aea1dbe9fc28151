"""Emails screens: users, emails in their inboxes, accounts on the test Dovecot."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from crm.addresses import addresses_get_or_create
from mailboxes.inbox.search_index import emails_index
from mailboxes.models import Attachment, Email, EmailRecipient, EmailUser
from tests.crm.conftest import (  # noqa: F401  (fixtures)
    fast_password_hasher,
    logged_in,
    make_record,
    make_user,
    other_team,
    team,
)
from tests.mailboxes.conftest import make_group_account, make_personal_account  # noqa: F401

_n = itertools.count(1)


def email_create(
    *,
    users=(),
    subject: str | None = None,
    sender: str = "customer@example.com",
    sender_name: str = "Customer",
    to: tuple[str, ...] = ("support@example.test",),
    cc: tuple[str, ...] = (),
    body_text: str = "Hello, I need help.",
    body_html: str = "",
    teams=(),
    accounts=(),
    read: bool = False,
    **fields,
) -> Email:
    """An imported email, as the intake stores it, in the inbox of ``users``."""
    n = next(_n)
    rows = addresses_get_or_create([sender, *to, *cc])
    fields.setdefault("date_sent", timezone.now() - timezone.timedelta(minutes=1000 - n))
    email = Email.objects.create(
        message_id=f"<ui-{n}@example.com>",
        subject=subject if subject is not None else f"Question {n}",
        from_address=rows.get(sender.lower()),
        from_name=sender_name,
        body_text=body_text,
        body_html=body_html,
        **fields,
    )
    recipients = [
        EmailRecipient(email=email, address=rows[a.lower()], kind=kind, position=i)
        for kind, people in ((EmailRecipient.Kind.TO, to), (EmailRecipient.Kind.CC, cc))
        for i, a in enumerate(people)
    ]
    EmailRecipient.objects.bulk_create(recipients)
    email.teams.set(teams)
    email.accounts.set(accounts)
    EmailUser.objects.bulk_create([EmailUser(email=email, user=u, is_read=read) for u in users])
    emails_index([email.pk])  # as the intake's step 6b does
    return email


def attachment_create(email: Email, filename: str, payload: bytes, content_type: str, **fields):
    import hashlib

    from django.core.files.base import ContentFile

    attachment = Attachment(
        email=email,
        filename=filename,
        content_type=content_type,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        **fields,
    )
    attachment.file.save(filename, ContentFile(payload), save=True)
    Email.objects.filter(pk=email.pk).update(has_attachments=True)
    emails_index([email.pk])
    return attachment


@pytest.fixture
def make_email(db):
    return email_create


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
