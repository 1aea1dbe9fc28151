"""The full-text search document of each email (mailboxes/inbox/search_index.py fills it).

A table of its own rather than a column on Email: the intake inserts one row per new email
in one statement after storing the batch, and never rewrites the (wide) email rows for it.
"""

from __future__ import annotations

from django.db import models


class SearchDocumentField(models.Field):
    """``tsvector`` on PostgreSQL (GIN-indexed by the migration); elsewhere the folded text
    itself (SQLite matches words in it with LIKE)."""

    description = "Full-text search document"

    def db_type(self, connection) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


class EmailSearch(models.Model):
    email = models.OneToOneField(
        "mailboxes.Email", primary_key=True, on_delete=models.CASCADE, related_name="search"
    )
    document = SearchDocumentField(null=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"search document of email {self.email_id}"
