"""PostgreSQL's ``unaccent`` extension: searches fold accents (crm/text_search.py)."""

from django.db import migrations


def create_extension(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_person_salutation_user_title_phone")]

    operations = [migrations.RunPython(create_extension, migrations.RunPython.noop)]
