"""Pages of an email list whose count is never the cost of the page, read by keyset.

Counting a million matching rows takes longer than showing fifty of them, and nobody pages
to the ten-thousandth email: past ``CAP`` the list says "10,000+" and stops counting (and
the deepest ``OFFSET`` stays bounded by the cap).
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils.functional import cached_property

CAP = 1_000


class CappedPaginator(Paginator):
    cap = CAP

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """Whether there are more than ``count`` (the list shows "10,000+")."""
        return self._counted > self.cap


# --- keyset pages ---------------------------------------------------------------------------
#
# A list newest first is read as a range of its sort key, never with OFFSET: a page is "the
# 50 rows after this (date, id)", one index range however deep, and it stays put while mail
# arrives (a new email lands before the newest page, it does not shift the pages after it).

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICRO = datetime.timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """The sort key of one row: its date (None for an email without one) and id."""

    date: datetime.datetime | None
    pk: int

    def __str__(self) -> str:
        micros = "" if self.date is None else str((self.date - _EPOCH) // _MICRO)
        return f"{micros}.{self.pk}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor a link carried; None for anything else (then the newest page)."""
        micros, dot, pk = (text or "").partition(".")
        if not dot or not pk.isdigit() or not (micros == "" or micros.lstrip("-").isdigit()):
            return None
        try:
            date = None if micros == "" else _EPOCH + int(micros) * _MICRO
        except OverflowError:
            return None
        return cls(date, int(pk))

    @classmethod
    def of(cls, row, field: str = "date_sent") -> Cursor:
        return cls(getattr(row, field), row.pk)


def newest_first(queryset: QuerySet, field: str = "date_sent") -> QuerySet:
    """The keyset order: newest first, rows without a date before all (as PostgreSQL's
    ``DESC`` puts them, and SQLite now too), then the newest id."""
    return queryset.order_by(F(field).desc(nulls_first=True), F("pk").desc())


def older_than(cursor: Cursor, field: str = "date_sent") -> Q:
    """Rows after ``cursor`` in :func:`newest_first` order."""
    if cursor.date is None:
        return Q(**{f"{field}__isnull": True, "pk__lt": cursor.pk}) | Q(
            **{f"{field}__isnull": False}
        )
    # the redundant ``<=`` gives the date index where the range starts
    return Q(**{f"{field}__lte": cursor.date}) & (
        Q(**{f"{field}__lt": cursor.date}) | Q(pk__lt=cursor.pk)
    )


def newer_than(cursor: Cursor, field: str = "date_sent") -> Q:
    """Rows before ``cursor`` in :func:`newest_first` order."""
    if cursor.date is None:
        return Q(**{f"{field}__isnull": True, "pk__gt": cursor.pk})
    return (
        Q(**{f"{field}__gte": cursor.date})
        & (Q(**{f"{field}__gt": cursor.date}) | Q(pk__gt=cursor.pk))
    ) | Q(**{f"{field}__isnull": True})


@contextmanager
def serial_query():
    """PostgreSQL: no parallel workers and no JIT compilation for the statements inside. A
    page reads 51 rows along an index; starting two workers for it costs more (tens of
    milliseconds on a busy machine) than the whole read, yet the planner often picks them
    for the row estimate, and a plan whose estimate is large (a million emails) is compiled
    to machine code first, 20 - 60 ms, for a statement that then runs in a few."""
    if connection.vendor != "postgresql" or getattr(connection, "postaci_serial", False):
        yield  # not PostgreSQL, or inside a serial block already (a page's whole request)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('max_parallel_workers_per_gather', '0', true), "
                "set_config('jit', 'off', true)"
            )
        connection.postaci_serial = True
        try:
            yield
        finally:
            connection.postaci_serial = False


@dataclass
class KeysetPage:
    """One page of a newest-first list and the cursors of its neighbours. It says how many
    the list holds only when that is all of them (``whole``): counting a million rows to
    write "1–50 of 1,000,000" would cost more than the page (Gmail says "of many")."""

    object_list: list
    newer: str | None = None  # the cursor of the page before (None: this is the newest)
    older: str | None = None  # the cursor of the page after (None: this is the oldest)
    is_newest: bool = True
    keyset = True

    @property
    def whole(self) -> bool:
        """The list is this page, all of it."""
        return self.newer is None and self.older is None

    @property
    def number(self) -> int | None:
        """1 on the newest page (the one with live updates and top results)."""
        return 1 if self.is_newest else None

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def keyset_page(
    queryset: QuerySet,
    size: int,
    *,
    older: str | None = None,
    newer: str | None = None,
    oldest: bool = False,
    field: str = "date_sent",
) -> KeysetPage:
    """The page of ``queryset`` (any order; read newest first) after the cursor ``older``,
    before the cursor ``newer``, the oldest page, or else the newest: at most ``size + 1``
    rows read, whatever the depth."""
    ordered = newest_first(queryset, field)
    after, before = Cursor.parse(older), Cursor.parse(newer)
    if before is not None or oldest:
        rows = ordered.filter(newer_than(before, field)) if before is not None else ordered
        with serial_query():
            rows = list(rows.reverse()[: size + 1])[::-1]
        more_newer = len(rows) > size
        if more_newer or oldest:
            rows = rows[-size:]
            return KeysetPage(
                rows,
                newer=str(Cursor.of(rows[0], field)) if more_newer else None,
                older=None if oldest else str(Cursor.of(rows[-1], field)),
                is_newest=not more_newer,
            )
        after = None  # reached the top: the newest page, whole
    rows = ordered.filter(older_than(after, field)) if after is not None else ordered
    with serial_query():
        rows = list(rows[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows,
        newer=str(Cursor.of(rows[0], field)) if after is not None and rows else None,
        older=str(Cursor.of(rows[-1], field)) if more_older else None,
        is_newest=after is None,
    )
