"""The stream notes of meetings (crm.kinds): a meeting added to a record, and one its
organizer cancelled. The note's ``related`` is the meeting, which the stream links to."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.kinds import note_kind_define

MEETING_ADDED = note_kind_define(
    "meeting_added",
    stream=[_("{actor} added the meeting {title}")],
    notification=[_("{actor} added a meeting to {record}")],
    related_text=False,
)
MEETING_CANCELLED = note_kind_define(
    "meeting_cancelled",
    stream=[_("The organizer cancelled the meeting {title}")],
    notification=[_("A meeting on {record} was cancelled")],
    related_text=False,
)
