"""The journal keeps what arrived byte for byte, whichever way its rows are written (COPY in
the binary format on PostgreSQL, ``bulk_create`` elsewhere)."""

import pytest
from django.utils import timezone

from crm.bulk import bulk_insert
from mailboxes.messages import IMAP_PROTOCOL
from mailboxes.models import GroupEmailAccount, RawMessage


@pytest.mark.django_db
def test_journal_rows_come_back_exactly_as_written():
    account = GroupEmailAccount.objects.create(name="Support", email_address="s@example.com")
    every_byte = bytes(range(256)) * 40 + b"\r\n.\r\n\\x00\\\\"
    written = [
        RawMessage(
            account_id=account.pk,
            folder="INBOX/Ayşe",
            uidvalidity=2**40,
            uid=7,
            sha256="0" * 64,
            size=len(every_byte),
            raw=every_byte,
            headers_only=True,
            message_id="<ş@example.com>",
            status=RawMessage.Status.QUARANTINED,
            sender="Ayşe <a@example.com>",
            subject="Sipariş\ttab\\backslash\nline",
            date_sent=timezone.now(),
            attempts=3,
            processed_at=timezone.now(),
        ),
        RawMessage(account_id=account.pk, folder="INBOX", uidvalidity=1, uid=8, raw=b""),
    ]
    written[0].error = IMAP_PROTOCOL(reason="ü")
    bulk_insert(written)
    for row in written:
        stored = RawMessage.objects.get(pk=row.pk)
        for field in RawMessage._meta.concrete_fields:
            expected = getattr(row, field.attname)
            got = getattr(stored, field.attname)
            if field.attname == "raw":
                expected, got = bytes(expected), bytes(got)
            assert got == expected, field.attname
