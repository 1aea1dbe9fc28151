"""SQLite's full-text index: an FTS5 table of each email's subject, sender, recipients and
body (folded by ``crm.text_search.fold``), kept by ``search_index.emails_index`` as
PostgreSQL's tsvector is, and emptied of an email when its search row goes. Emails indexed
before are indexed again here. Nothing on PostgreSQL.

"@" and "." are parts of a word, as PostgreSQL's parser keeps an address or a host name
whole: "customer.example" is one word, not "customer" followed by "example" (the address
is indexed whole and as its halves, a file name whole and as its words, as on PostgreSQL).
"""

from django.db import migrations

CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS mailboxes_email_fts USING fts5("
    "subject, sender, recipients, body, tokenize = 'unicode61 remove_diacritics 2 tokenchars ''@.''')",
    "CREATE TRIGGER IF NOT EXISTS mailboxes_email_fts_forget AFTER DELETE ON mailboxes_emailsearch "
    "BEGIN DELETE FROM mailboxes_email_fts WHERE rowid = old.email_id; END",
]
DROP = [
    "DROP TRIGGER IF EXISTS mailboxes_email_fts_forget",
    "DROP TABLE IF EXISTS mailboxes_email_fts",
]
CHUNK = 2000


def fts_create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in CREATE:
        schema_editor.execute(statement)
    # The documents as the code writes them now
    from mailboxes.inbox.search_index import emails_index

    Email = apps.get_model("mailboxes", "Email")
    ids = list(Email.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        emails_index(ids[start : start + CHUNK])


def fts_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0021_email_search_field_weights")]

    operations = [migrations.RunPython(fts_create, fts_drop)]
