"""Skipped journal rows written before their summary was kept stay readable: the migration
fills the filter id, Message-ID, sender, subject and date from what they stored."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from mailboxes.models import GroupEmailAccount, RawMessage

migration = importlib.import_module("mailboxes.migrations.0006_journal_skipped_message_summary")
pytestmark = pytest.mark.django_db

HEADERS = (
    b"From: =?utf-8?q?=C3=87i=C3=A7ek?= <cicek@shop.test>\r\n"
    b"Subject: =?utf-8?b?xLBuZGlyaW0gZsSxcnNhdMSx?=\r\n"
    b"Date: Tue, 01 Oct 2024 09:30:00 +0300\r\n"
    b"Message-ID: <old-1@shop.test>\r\n\r\n"
)


def test_old_skipped_rows_get_their_filter_and_summary():
    account = GroupEmailAccount.objects.create(name="Support", email_address="s@example.test")
    row = RawMessage.objects.create(
        account=account,
        folder="INBOX",
        uidvalidity=1,
        uid=9,
        sha256="x",
        raw=HEADERS,
        headers_only=True,
        status=RawMessage.Status.SKIPPED,
        skipped_by="Deals (#42)",
    )
    broken = RawMessage.objects.create(
        account=account,
        folder="INBOX",
        uidvalidity=1,
        uid=10,
        sha256="y",
        raw=b"\xff\xfe not a message",
        status=RawMessage.Status.SKIPPED,
        skipped_by="a filter since renamed",
    )

    migration.summarize_skipped(apps, None)

    row.refresh_from_db()
    assert row.skip_filter_id == 42
    assert row.message_id == "<old-1@shop.test>"
    assert row.sender == "Çiçek <cicek@shop.test>"
    assert row.subject == "İndirim fırsatı"
    assert row.date_sent.isoformat() == "2024-10-01T06:30:00+00:00"
    broken.refresh_from_db()
    assert broken.skip_filter_id is None and broken.subject == ""
