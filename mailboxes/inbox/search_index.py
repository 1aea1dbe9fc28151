"""Keep the full-text search document of each email (``EmailSearch``).

What is searchable, each field under a weight of its own: the subject (A), the sender's name
and address (B), To/Cc names and addresses (C), the text body and attachment file names (D).
The weights rank (subject and sender first, ``search_query.RANK_WEIGHTS``) and let the
operators ``subject:``, ``from:`` and ``to:`` match through the same GIN index (``'iade':*A``)
instead of reading every row. An address is indexed whole and as its two halves, so "ayse",
"musteri.example" and the whole address all find it; a file name whole and as its words
("fatura-kasim.pdf": "kasim").

On PostgreSQL one ``INSERT … SELECT`` computes every document of a batch in the database
(text search configuration ``postaci``: accents and Turkish letters folded, English stems).
On SQLite an FTS5 table (``mailboxes_email_fts``, migration 0018) holds the same fields as
columns of their own (subject, sender, recipients, body), written folded
(``crm.text_search.fold``: the Turkish i, accents, letter case) by the same function, two
statements a batch; its words are matched as prefixes, like PostgreSQL's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection

from crm.text_search import fold
from mailboxes.models import Attachment, Email, EmailRecipient, EmailSearch

BODY_LIMIT = 100_000  # characters of the body indexed; a tsvector holds at most 1 MB
FTS_TABLE = "mailboxes_email_fts"  # SQLite: rowid = the email's id
# SQLite's column of each weight (search_query.FIELD_WEIGHTS); the body and file names: "body"
FTS_COLUMNS = {"A": "subject", "B": "sender", "C": "recipients"}

_POSTGRES_INDEX = """
INSERT INTO mailboxes_emailsearch (email_id, document)
SELECT e.id,
  setweight(to_tsvector('postaci', e.subject), 'A')
  || setweight(to_tsvector('postaci', e.from_name || ' ' || coalesce(a.address, '') || ' '
       || replace(coalesce(a.address, ''), '@', ' ')), 'B')
  || setweight(to_tsvector('postaci', coalesce((
       SELECT string_agg(r.name || ' ' || ra.address || ' ' || replace(ra.address, '@', ' '), ' ')
       FROM mailboxes_emailrecipient r JOIN crm_emailaddress ra ON ra.id = r.address_id
       WHERE r.email_id = e.id AND r.kind IN ('to', 'cc')), '')), 'C')
  || setweight(to_tsvector('postaci', coalesce((
       SELECT string_agg(f.filename || ' ' || regexp_replace(f.filename, '[-_.]+', ' ', 'g'), ' ')
       FROM mailboxes_attachment f
       WHERE f.email_id = e.id AND NOT f.is_inline), '')), 'D')
  || setweight(to_tsvector('postaci', left(e.body_text, %s)), 'D')
FROM mailboxes_email e LEFT JOIN crm_emailaddress a ON a.id = e.from_address_id
WHERE e.id = ANY(%s)
ON CONFLICT (email_id) DO UPDATE SET document = EXCLUDED.document
"""


def emails_index(email_ids: Iterable[int]) -> None:
    """Write (or rewrite) the search documents of these emails: one statement on PostgreSQL."""
    ids = sorted(set(email_ids))
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_POSTGRES_INDEX, [BODY_LIMIT, ids])
        return
    _index_in_python(ids)


def _index_in_python(ids: list[int]) -> None:
    """SQLite: the fields of each email folded in Python, into the FTS5 table."""
    fields: dict[int, dict[str, list[str]]] = {}
    for pk, subject, name, address, body in Email.objects.filter(pk__in=ids).values_list(
        "pk", "subject", "from_name", "from_address__address", "body_text"
    ):
        fields[pk] = {
            "subject": [subject],
            "sender": [name, _address_words(address)],
            "recipients": [],
            "body": [body[:BODY_LIMIT]],
        }
    for email_id, name, address in EmailRecipient.objects.filter(
        email_id__in=ids, kind__in=[EmailRecipient.Kind.TO, EmailRecipient.Kind.CC]
    ).values_list("email_id", "name", "address__address"):
        fields[email_id]["recipients"] += [name, _address_words(address)]
    for email_id, filename in Attachment.objects.filter(
        email_id__in=ids, is_inline=False
    ).values_list("email_id", "filename"):
        fields[email_id]["body"] += [filename, re.sub(r"[-_.]+", " ", filename)]
    found = sorted(fields)
    if not found:
        return
    columns = ["subject", "sender", "recipients", "body"]
    with connection.cursor() as cursor:
        marks = ", ".join("%s" for _ in found)
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", found)  # noqa: S608
        cursor.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(columns)}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s)",
            [[pk, *(fold(" ".join(fields[pk][c])) for c in columns)] for pk in found],
        )
    # the row marks the email indexed (emails_missing_index); the text is in the FTS table
    EmailSearch.objects.bulk_create(
        [EmailSearch(email_id=pk, document=None) for pk in found],
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=["document"],
    )


def _address_words(address: str | None) -> str:
    return f"{address} {address.replace('@', ' ')}" if address else ""


def emails_missing_index(limit: int = 5000) -> list[int]:
    """Emails without a search document yet (the beat job indexes them in chunks)."""
    return list(
        Email.objects.filter(search__isnull=True)
        .order_by("-pk")
        .values_list("pk", flat=True)[:limit]
    )


def index_missing(chunk: int = 5000) -> int:
    """Index what has no document (emails written before the index existed, or by a path
    that did not index); the number indexed."""
    ids = emails_missing_index(chunk)
    emails_index(ids)
    return len(ids)
