"""Each searchable field under a weight of its own (subject A, sender B, To/Cc C, text and
file names D), so ``subject:``, ``from:`` and ``to:`` match through the GIN index: the
search documents written before are written again, in chunks of 5,000 emails (on a large
mailbox this takes minutes: at 1,000,000 emails about as long as the first indexing).
"""

from django.db import migrations

CHUNK = 5000


def documents_rewrite(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's document is the folded text, without weights: nothing changes
    # The document as the code writes it now (one statement per chunk)
    from mailboxes.inbox.search_index import emails_index

    EmailSearch = apps.get_model("mailboxes", "EmailSearch")
    last = 0
    while True:
        ids = list(
            EmailSearch.objects.filter(email_id__gt=last)
            .order_by("email_id")
            .values_list("email_id", flat=True)[:CHUNK]
        )
        if not ids:
            return
        emails_index(ids)
        last = ids[-1]


class Migration(migrations.Migration):
    atomic = False  # each chunk commits: a million documents are not one transaction

    dependencies = [("mailboxes", "0020_lz4_toast_compression")]

    operations = [migrations.RunPython(documents_rewrite, migrations.RunPython.noop)]
