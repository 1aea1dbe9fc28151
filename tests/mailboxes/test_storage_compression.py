"""The intake's large columns are compressed with LZ4 where the server has it (migration
mailboxes 0017): writing a batch's raw messages and bodies takes about half the time."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_intakes_large_columns_are_compressed_with_lz4():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        assert cursor.fetchone()[0], "the test server is PostgreSQL 14+ with LZ4"
        cursor.execute(
            """
            SELECT c.relname, a.attname, a.attcompression
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE (c.relname, a.attname) IN (
                ('mailboxes_rawmessage', 'raw'), ('mailboxes_email', 'body_text'),
                ('mailboxes_email', 'body_html'), ('mailboxes_email', 'headers'),
                ('mailboxes_emailsearch', 'document'))
            """
        )
        rows = cursor.fetchall()
    assert len(rows) == 5
    assert {compression for _table, _column, compression in rows} == {"l"}
