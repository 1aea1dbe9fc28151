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
On SQLite the document is the folded text itself (``crm.text_search.fold``), matched with ``LIKE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection

from crm.text_search import fold
from mailboxes.models import Attachment, Email, EmailRecipient, EmailSearch

BODY_LIMIT = 100_000  # characters of the body indexed; a tsvector holds at most 1 MB

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
    parts: dict[int, list[str]] = {}
    for pk, subject, name, address, body in Email.objects.filter(pk__in=ids).values_list(
        "pk", "subject", "from_name", "from_address__address", "body_text"
    ):
        parts[pk] = [subject, name, _address_words(address), body[:BODY_LIMIT]]
    for email_id, name, address in EmailRecipient.objects.filter(
        email_id__in=ids, kind__in=[EmailRecipient.Kind.TO, EmailRecipient.Kind.CC]
    ).values_list("email_id", "name", "address__address"):
        parts[email_id] += [name, _address_words(address)]
    for email_id, filename in Attachment.objects.filter(
        email_id__in=ids, is_inline=False
    ).values_list("email_id", "filename"):
        parts[email_id] += [filename, re.sub(r"[-_.]+", " ", filename)]
    rows = [
        EmailSearch(email_id=pk, document=" " + fold(" ".join(texts)) + " ")
        for pk, texts in parts.items()
    ]
    EmailSearch.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["email"], update_fields=["document"]
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
