"""Invitations in the shapes Outlook (Exchange) and Google Calendar mail them, built with the
standard library's ``email`` package; Google's calendar is written with ``icalendar``,
Outlook's as Exchange writes it (Windows zone names, a VTIMEZONE, LANGUAGE parameters)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import icalendar

OUTLOOK_UID = "040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5@example.com"
GOOGLE_UID = "5u3kq0h1n2ab4cdefg8i9j0klm@google.com"

# Exchange's VTIMEZONE for "W. Europe Standard Time" (Berlin: +01:00, +02:00 in summer)
_W_EUROPE = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""
_TURKEY = """BEGIN:VTIMEZONE
TZID:Turkey Standard Time
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0300
TZOFFSETTO:+0300
END:STANDARD
END:VTIMEZONE"""
ZONES = {"W. Europe Standard Time": _W_EUROPE, "Turkey Standard Time": _TURKEY}


def outlook_ics(
    *,
    method: str = "REQUEST",
    uid: str = OUTLOOK_UID,
    sequence: int = 0,
    summary: str = "Quarterly review",
    start: str = "20270104T100000",
    end: str = "20270104T110000",
    tzid: str = "Turkey Standard Time",
    organizer: tuple[str, str] = ("Ayşe Yılmaz", "ayse@acme.example"),
    attendees: list[tuple[str, str, str]] = (("Ali Kaya", "ali@example.test", "NEEDS-ACTION"),),
    location: str = "Meeting room 1",
    rrule: str = "",
    exdate: str = "",
    recurrence_id: str = "",
    status: str = "CONFIRMED",
) -> bytes:
    """A calendar as Exchange 2016/Outlook writes it (CRLF lines, Windows zone names)."""
    lines = [
        "BEGIN:VCALENDAR",
        f"METHOD:{method}",
        "PRODID:Microsoft Exchange Server 2010",
        "VERSION:2.0",
        ZONES[tzid],
        "BEGIN:VEVENT",
        f"ORGANIZER;CN={organizer[0]}:mailto:{organizer[1]}",
    ]
    for name, address, partstat in attendees:
        lines.append(
            f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=TRUE;CN={name}:mailto:{address}"
        )
    lines += ["DESCRIPTION;LANGUAGE=en-US:Agenda: numbers\\, plans\\n", f"UID:{uid}"]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    if exdate:
        lines.append(f"EXDATE;TZID={tzid}:{exdate}")
    if recurrence_id:
        lines.append(f"RECURRENCE-ID;TZID={tzid}:{recurrence_id}")
    lines += [
        f"SUMMARY;LANGUAGE=en-US:{summary}",
        f"DTSTART;TZID={tzid}:{start}",
        f"DTEND;TZID={tzid}:{end}",
        "CLASS:PUBLIC",
        "PRIORITY:5",
        "DTSTAMP:20261204T090000Z",
        "TRANSP:OPAQUE",
        f"STATUS:{status}",
        f"SEQUENCE:{sequence}",
        f"LOCATION;LANGUAGE=en-US:{location}",
        "X-MICROSOFT-CDO-APPT-SEQUENCE:0",
        "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE",
        "X-MICROSOFT-CDO-IMPORTANCE:1",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join("\r\n".join(block.split("\n")) for block in lines) + "\r\n").encode()


def google_ics(
    *,
    method: str = "REQUEST",
    uid: str = GOOGLE_UID,
    sequence: int = 0,
    summary: str = "Ürün demosu",
    start: datetime = datetime(2027, 3, 15, 7, 0, tzinfo=UTC),
    end: datetime = datetime(2027, 3, 15, 8, 0, tzinfo=UTC),
    organizer: tuple[str, str] = ("Mehmet Demir", "mehmet@customer.example"),
    attendees: list[tuple[str, str, str]] = (
        ("Mehmet Demir", "mehmet@customer.example", "ACCEPTED"),
        ("ali@example.test", "ali@example.test", "NEEDS-ACTION"),
    ),
    rrule: dict | None = None,
    location: str = "https://meet.google.com/abc-defg-hij",
) -> bytes:
    """A calendar as Google Calendar writes it, with icalendar: times in UTC (or with a
    TZID of the IANA database and its VTIMEZONE when ``start`` carries a ZoneInfo)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Google Inc//Google Calendar 70.9054//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("dtstamp", datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    organizer_address = icalendar.vCalAddress(f"mailto:{organizer[1]}")
    organizer_address.params["CN"] = organizer[0]
    event.add("organizer", organizer_address)
    event.add("uid", uid)
    for name, address, partstat in attendees:
        attendee = icalendar.vCalAddress(f"mailto:{address}")
        attendee.params.update(
            {
                "CUTYPE": "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": partstat,
                "RSVP": "TRUE",
                "CN": name,
                "X-NUM-GUESTS": "0",
            }
        )
        event.add("attendee", attendee)
    if rrule:
        event.add("rrule", rrule)
    event.add("description", "Google Meet ile katılın: https://meet.google.com/abc-defg-hij")
    event.add("location", location)
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("summary", summary)
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    if getattr(start.tzinfo, "key", "UTC") != "UTC":
        calendar.add_missing_timezones()
    return calendar.to_ical()


def outlook_message(
    ics: bytes,
    *,
    subject: str = "Quarterly review",
    sender: str = "Ayşe Yılmaz <ayse@acme.example>",
    to: str = "Ali Kaya <ali@example.test>",
    attach_ics: bool = True,
    method: str = "REQUEST",
) -> bytes:
    """Outlook's shape: multipart/alternative text + HTML + text/calendar; method=REQUEST
    (base64), inside multipart/mixed with the same calendar as an .ics attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="acme.example")
    message.set_content("Hello Ali, let us go through the quarter's numbers together.\n")
    message.add_alternative(
        "<html><body><p>Hello Ali, let us go through the quarter's numbers together.</p>"
        "</body></html>",
        subtype="html",
    )
    message.add_alternative(
        ics,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
        cte="base64",
    )
    if attach_ics:
        message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message.as_bytes()


def google_message(
    ics: bytes,
    *,
    subject: str = "Invitation: Ürün demosu @ Mon Mar 15, 2027 10am - 11am (GMT+3)",
    sender: str = "Mehmet Demir <mehmet@customer.example>",
    to: str = "ali@example.test",
    method: str = "REQUEST",
) -> bytes:
    """Google's shape: multipart/mixed of multipart/alternative (text, HTML, text/calendar;
    method=REQUEST) and invite.ics (application/ics)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="google.com")
    message["Reply-To"] = sender
    message.set_content("You have been invited to the following event.\n")
    message.add_alternative("<p>You have been invited to the following event.</p>", subtype="html")
    message.add_alternative(
        ics.decode(),
        subtype="calendar",
        params={"method": method},
        cte="7bit" if ics.isascii() else "base64",
    )
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message.as_bytes()
