"""The invitation panel on an email's page (registered with mailboxes.email_panels): the
event in the reader's time zone, its recurrence in words, the attendees' answers, and
Add to meetings / Accept / Tentative / Decline."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import formats, timezone

from mailboxes.models import Email
from meetings.recurrence import rrule_text
from meetings.services import calendar_attachment, invitation_of, meeting_of, reply_identity


def event_zone_time(moment, zone: str) -> str:
    """The time in the event's own zone ("10:00", with its date when that is another day),
    when the zone's offset differs from the reader's; "" otherwise."""
    if moment is None or not zone:
        return ""
    try:
        event_zone = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return ""
    local = timezone.localtime(moment)
    there = moment.astimezone(event_zone)
    if there.utcoffset() == local.utcoffset():
        return ""
    # formatted here: the template's date filter would turn it back into the reader's zone
    text = formats.date_format(there, "H:i")
    if there.date() != local.date():
        text = f"{formats.date_format(there, 'DATE_FORMAT')}, {text}"
    return text


def invitation_panel(request: HttpRequest, email: Email) -> str:
    if calendar_attachment(email) is None:
        return ""  # the common case: no query, nothing read
    invitation = invitation_of(email)
    if invitation is None:
        return ""
    meeting = meeting_of(request.user, invitation)
    chosen = reply_identity(request.user, invitation) if invitation.method == "REQUEST" else None
    # the answers as recorded (the user's own, replies that came by mail) once it is a meeting
    attendees = invitation.attendees
    if meeting is not None and invitation.method == "REQUEST":
        attendees = list(meeting.attendees.all())  # one query, the user's answer read from it
    mine = None
    if chosen is not None and meeting is not None:
        mine = next((a for a in attendees if a.address == chosen[0].address), None)
    context = {
        "email": email,
        "invitation": invitation,
        "attendees": attendees,
        "meeting": meeting,
        "recurrence": rrule_text(invitation.rrule),
        "exdates": invitation.exdates,
        "zone_start": event_zone_time(invitation.start, invitation.time_zone),
        "reply_as": chosen[0] if chosen else None,
        "my_answer": mine.partstat if mine is not None else "",
        "cancelled": invitation.method == "CANCEL" or invitation.status == "CANCELLED",
    }
    return render_to_string("meetings/_invitation_panel.html", context, request=request)
