"""Which attachment is a calendar part: asked of every stored message by the intake's step
10b, so it lives apart from the meeting services (and the iCalendar library) that only a
message with such a part needs."""

from __future__ import annotations

CALENDAR_TYPES = ("text/calendar", "application/ics")


def is_calendar_part(content_type: str, filename: str) -> bool:
    return content_type.lower() in CALENDAR_TYPES or filename.lower().endswith(".ics")
