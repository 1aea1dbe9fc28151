"""Case-insensitive text search that works for Turkish on every supported database.

Neither database folds Turkish letters the way a reader expects: PostgreSQL's
``UPPER(…) LIKE UPPER(…)`` (``icontains``) leaves "İ" apart from "I", and SQLite's ``LIKE``
folds ASCII only ("şikayet" would not find "Şikayet"). So both the columns and the words go
through one folding: Turkish dotted and dotless i become "i", then lower case. On PostgreSQL
that is ``LOWER(TRANSLATE(…))``; on SQLite, ``POSTACI_FOLD``, a Python function registered on
each connection.
"""

from __future__ import annotations

from django.db.models import Func, Q, QuerySet, TextField

FOLD_FUNCTION = "POSTACI_FOLD"
_DOTTED = str.maketrans({"İ": "i", "I": "i", "ı": "i"})


def fold(value: str | None) -> str | None:
    """Lower-case for matching: Turkish dotted and dotless i are one letter."""
    if value is None:
        return None
    return value.translate(_DOTTED).lower()


class Fold(Func):
    """The database side of :func:`fold`."""

    arity = 1
    output_field = TextField()
    template = "LOWER(%(expressions)s)"

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="LOWER(TRANSLATE(%(expressions)s, 'İIı', 'iii'))"
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
