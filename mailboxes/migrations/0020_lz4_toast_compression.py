"""The large columns the intake writes are compressed with LZ4 instead of pglz (PostgreSQL
14+ built with LZ4, as the distributions' packages are): about half the time of writing the
journal's raw messages and the bodies of a batch (issue 15). Only values written from now on
are compressed so; a server without LZ4, and other databases, keep their default."""

from django.db import migrations

COLUMNS = [
    ("mailboxes_rawmessage", "raw"),
    ("mailboxes_email", "body_text"),
    ("mailboxes_email", "body_html"),
    ("mailboxes_email", "headers"),
    ("mailboxes_emailsearch", "document"),
]


def _lz4_available(schema_editor) -> bool:
    if schema_editor.connection.vendor != "postgresql":
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _compress_with(method: str):
    def apply(apps, schema_editor) -> None:
        if not _lz4_available(schema_editor):
            return
        quote = schema_editor.quote_name
        for table, column in COLUMNS:
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET COMPRESSION {method}"
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0019_mail_imports"),
    ]

    operations = [
        migrations.RunPython(_compress_with("lz4"), _compress_with("pglz")),
    ]
