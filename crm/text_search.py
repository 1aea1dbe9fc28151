"""Letter-case and accent-insensitive text matching that works for Turkish on every database.

Neither database folds Turkish letters the way a reader expects: PostgreSQL's
``UPPER(…) LIKE UPPER(…)`` (``icontains``) leaves "İ" apart from "I", and SQLite's ``LIKE``
folds ASCII only ("şikayet" would not find "Şikayet"). So both the columns and the words go
through one folding: Turkish dotted and dotless i become "i", accents go ("Gülşen" and
"gulsen", "şikâyet" and "sikayet" are one word), then lower case. On PostgreSQL that is
``LOWER(unaccent(TRANSLATE(…)))`` (the ``unaccent`` extension, crm's migration 0006); on
SQLite, ``POSTACI_FOLD``, a Python function registered on each connection.

Used for names and short fields; the full text of emails has an index of its own
(mailboxes/inbox/search_index.py) that folds the same way.
"""

from __future__ import annotations

import unicodedata

from django.db.models import Func, Q, QuerySet, TextField

FOLD_FUNCTION = "POSTACI_FOLD"
_DOTTED = str.maketrans({"İ": "i", "I": "i", "ı": "i"})


def fold(value: str | None) -> str | None:
    """Lower case without accents, Turkish dotted and dotless i as one letter: "Şikâyet
    İADE" → "sikayet iade"."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", value.translate(_DOTTED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class Fold(Func):
    """The database side of :func:`fold`."""

    arity = 1
    output_field = TextField()
    template = "LOWER(%(expressions)s)"

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="LOWER(unaccent(TRANSLATE(%(expressions)s, 'İIı', 'iii')))",
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=f"{FOLD_FUNCTION}(%(expressions)s)")


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """``connection_created`` handler: give SQLite connections ``POSTACI_FOLD``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)


def words_in_fields(queryset: QuerySet, text: str, fields: list[str], *, limit: int = 10):
    """Rows where every word of ``text`` occurs, in any letter case, in one of ``fields``."""
    words = text.split()[:limit]
    if not words:
        return queryset
    aliases = {f"_fold_{n}": Fold(field) for n, field in enumerate(fields)}
    queryset = queryset.alias(**aliases)
    for word in words:
        folded = fold(word)
        queryset = queryset.filter(
            Q(*[Q(**{f"{alias}__contains": folded}) for alias in aliases], _connector=Q.OR)
        )
    return queryset
