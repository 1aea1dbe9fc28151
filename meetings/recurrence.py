"""A recurrence rule (RFC 5545 RRULE) in words, in the reader's language.

Hand-written: no Python library describes an RRULE in words in several languages (the
known one is rrule.js's ``toText``, English only). It covers what Outlook, Google and Apple
write for repeating meetings (FREQ with INTERVAL, BYDAY with or without an ordinal,
BYMONTHDAY, BYMONTH, COUNT, UNTIL); a rule with any other part is shown as written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import formats, timezone
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from icalendar.prop import vRecur

_DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_KNOWN = {
    "FREQ",
    "INTERVAL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "COUNT",
    "UNTIL",
    "WKST",
    "BYSETPOS",
}


def _every(freq: str, interval: int) -> str | None:
    if freq == "DAILY":
        return ngettext("Every day", "Every %(count)d days", interval) % {"count": interval}
    if freq == "WEEKLY":
        return ngettext("Every week", "Every %(count)d weeks", interval) % {"count": interval}
    if freq == "MONTHLY":
        return ngettext("Every month", "Every %(count)d months", interval) % {"count": interval}
    if freq == "YEARLY":
        return ngettext("Every year", "Every %(count)d years", interval) % {"count": interval}
    return None


def _ordinal(n: int) -> str:
    names = {
        1: pgettext("ordinal", "first"),
        2: pgettext("ordinal", "second"),
        3: pgettext("ordinal", "third"),
        4: pgettext("ordinal", "fourth"),
        5: pgettext("ordinal", "fifth"),
        -1: pgettext("ordinal", "last"),
        -2: pgettext("ordinal", "second to last"),
    }
    return names.get(n, str(n))


def _weekday(text: str) -> tuple[int | None, str] | None:
    """``2TU`` → (2, "Tuesday"), ``MO`` → (None, "Monday")."""
    code = text[-2:].upper()
    if code not in _DAYS:
        return None
    number = text[:-2]
    try:
        nth = int(number) if number else None
    except ValueError:
        return None
    return nth, str(WEEKDAYS[_DAYS[code]])


def _until(value) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = timezone.localtime(value).date()
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value)


def rrule_text(rule: str) -> str:
    """``FREQ=WEEKLY;BYDAY=MO;COUNT=10`` → "Every week on Monday, 10 times" (translated);
    the rule itself when it says more than that."""
    if not rule:
        return ""
    try:
        parts = vRecur.from_ical(rule)
    except Exception:
        return rule
    if set(parts) - _KNOWN:
        return rule
    freq = str((parts.get("FREQ") or [""])[0]).upper()
    try:
        interval = max(int((parts.get("INTERVAL") or [1])[0]), 1)
    except (TypeError, ValueError):
        return rule
    every = _every(freq, interval)
    if every is None:
        return rule
    pieces = [every]
    days = [_weekday(str(d)) for d in parts.get("BYDAY", [])]
    if None in days:
        return rule
    positions = parts.get("BYSETPOS") or []
    if len(positions) == 1 and days and all(nth is None for nth, _day in days):
        days = [(int(positions[0]), name) for _nth, name in days]
    if days and all(nth is None for nth, _day in days):
        names = ", ".join(name for _nth, name in days)
        pieces.append(_("on %(days)s") % {"days": names})
    elif days:
        for nth, name in days:
            if nth is None:
                pieces.append(_("on %(days)s") % {"days": name})
            else:
                pieces.append(_("on the %(nth)s %(day)s") % {"nth": _ordinal(nth), "day": name})
    month_days = parts.get("BYMONTHDAY") or []
    if month_days:
        pieces.append(
            _("on day %(days)s of the month") % {"days": ", ".join(str(d) for d in month_days)}
        )
    months = parts.get("BYMONTH") or []
    if months:
        try:
            names = ", ".join(str(MONTHS[int(m)]) for m in months)
        except (KeyError, ValueError):
            return rule
        pieces.append(_("in %(months)s") % {"months": names})
    if parts.get("COUNT"):
        count = int(parts["COUNT"][0])
        pieces.append(ngettext("once", "%(count)d times", count) % {"count": count})
    if parts.get("UNTIL"):
        pieces.append(_("until %(date)s") % {"date": _until(parts["UNTIL"][0])})
    return ", ".join(pieces)
