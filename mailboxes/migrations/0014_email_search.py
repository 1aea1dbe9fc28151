"""The full-text search table, and on PostgreSQL its text search configuration and index.

``postaci`` is English (stemming, stop words) with accents and Turkish letters folded first
(``unaccent``, created by crm's migration 0006: "Şikâyet" and "sikayet", "İADE" and "iade" are one word).
"""

import django.db.models.deletion
from django.db import migrations, models

import mailboxes.models.search

POSTGRES_UP = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'postaci') THEN
    CREATE TEXT SEARCH CONFIGURATION postaci (COPY = english);
    ALTER TEXT SEARCH CONFIGURATION postaci
      ALTER MAPPING FOR hword, hword_part, word, asciiword, asciihword, hword_asciipart
      WITH unaccent, english_stem;
  END IF;
END $$;
CREATE INDEX mailboxes_emailsearch_document ON mailboxes_emailsearch USING gin (document);
"""

POSTGRES_DOWN = """
DROP INDEX IF EXISTS mailboxes_emailsearch_document;
"""


def postgres_up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


def postgres_down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0013_outgoing_after_send_actions"),
        ("crm", "0006_unaccent"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmailSearch",
            fields=[
                (
                    "email",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="mailboxes.email",
                    ),
                ),
                ("document", mailboxes.models.search.SearchDocumentField(null=True)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.RunPython(postgres_up, postgres_down),
    ]
