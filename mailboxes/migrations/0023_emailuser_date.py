"""Each user's copy of an email carries the email's date (``EmailUser.date``), indexed
with the user, so a folder newest first reads only the user's own rows, in order.

Database triggers keep it, whoever writes the rows (the intake's bulk COPY, cases, compose,
the tests' fixtures): a row takes its email's date when inserted or updated, and the rows
of an email follow when its date changes (a draft sent). The rows written before are filled
here in one UPDATE (at 1,000,000 rows about a minute), and the index built (it locks the
table against writes meanwhile: on a big installation, stop the fetch workers for it).
"""

from django.conf import settings
from django.db import migrations, models

POSTGRES_UP = [
    """
CREATE OR REPLACE FUNCTION mailboxes_emailuser_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT date_sent INTO NEW.date FROM mailboxes_email WHERE id = NEW.email_id;
  RETURN NEW;
END $$
""",
    """
CREATE TRIGGER mailboxes_emailuser_date BEFORE INSERT OR UPDATE ON mailboxes_emailuser
FOR EACH ROW EXECUTE FUNCTION mailboxes_emailuser_date()
""",
    """
CREATE OR REPLACE FUNCTION mailboxes_email_date_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE mailboxes_emailuser SET date = NEW.date_sent WHERE email_id = NEW.id;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER mailboxes_email_date_follow AFTER UPDATE OF date_sent ON mailboxes_email
FOR EACH ROW WHEN (OLD.date_sent IS DISTINCT FROM NEW.date_sent)
EXECUTE FUNCTION mailboxes_email_date_follow()
""",
    """
UPDATE mailboxes_emailuser u SET date = e.date_sent FROM mailboxes_email e
WHERE e.id = u.email_id AND u.date IS DISTINCT FROM e.date_sent
""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS mailboxes_email_date_follow ON mailboxes_email",
    "DROP TRIGGER IF EXISTS mailboxes_emailuser_date ON mailboxes_emailuser",
    "DROP FUNCTION IF EXISTS mailboxes_email_date_follow()",
    "DROP FUNCTION IF EXISTS mailboxes_emailuser_date()",
]
SQLITE_UP = [
    """
CREATE TRIGGER mailboxes_emailuser_date_insert AFTER INSERT ON mailboxes_emailuser
BEGIN
  UPDATE mailboxes_emailuser SET date =
    (SELECT date_sent FROM mailboxes_email WHERE id = new.email_id) WHERE id = new.id;
END
""",
    """
CREATE TRIGGER mailboxes_emailuser_date_update AFTER UPDATE ON mailboxes_emailuser
WHEN new.date IS NOT (SELECT date_sent FROM mailboxes_email WHERE id = new.email_id)
BEGIN
  UPDATE mailboxes_emailuser SET date =
    (SELECT date_sent FROM mailboxes_email WHERE id = new.email_id) WHERE id = new.id;
END
""",
    """
CREATE TRIGGER mailboxes_email_date_follow AFTER UPDATE OF date_sent ON mailboxes_email
BEGIN UPDATE mailboxes_emailuser SET date = new.date_sent WHERE email_id = new.id; END
""",
    """
UPDATE mailboxes_emailuser SET date =
  (SELECT date_sent FROM mailboxes_email WHERE id = mailboxes_emailuser.email_id)
""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS mailboxes_email_date_follow",
    "DROP TRIGGER IF EXISTS mailboxes_emailuser_date_update",
    "DROP TRIGGER IF EXISTS mailboxes_emailuser_date_insert",
]


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}.get(vendor, []):
        schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}.get(vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0022_email_fts_sqlite"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="emailuser",
            name="date",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
        migrations.AddIndex(
            model_name="emailuser",
            index=models.Index(fields=["user", "date", "email"], name="mailboxes_eu_user_date"),
        ),
    ]
