"""Calendar invitations (iTIP over email, RFC 5546/6047) read and written with ``icalendar``.

``invitation_parse`` turns the bytes of a ``text/calendar`` part into an ``Invitation``:
plain values, times in UTC, the event's zone as an IANA name. Outlook writes Windows zone
names ("W. Europe Standard Time") with a VTIMEZONE beside them; icalendar reads the times
with that VTIMEZONE, and its Windows → IANA table names the zone for display.
``reply_build`` writes the METHOD:REPLY an attendee sends back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from crm.addresses import normalize_address

METHODS = ("REQUEST", "CANCEL", "REPLY", "PUBLISH", "COUNTER", "DECLINECOUNTER", "REFRESH", "ADD")
PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "TENTATIVE", "DECLINED", "DELEGATED")
MAX_ICS_BYTES = 1024 * 1024  # a real invitation is a few kB; a huge one is not read


@dataclass
class Person:
    address: str
    name: str = ""
    partstat: str = "NEEDS-ACTION"
    role: str = ""


@dataclass
class Invitation:
    """One VEVENT of an iTIP message (the master event, or an occurrence when
    ``recurrence_id`` is set)."""

    method: str
    uid: str
    sequence: int = 0
    title: str = ""
    start: datetime | None = None  # UTC (an all-day event: midnight UTC of its date)
    end: datetime | None = None
    all_day: bool = False
    time_zone: str = ""
    location: str = ""
    description: str = ""
    organizer: Person | None = None
    attendees: list[Person] = field(default_factory=list)
    rrule: str = ""
    exdates: list[datetime] = field(default_factory=list)
    recurrence_id: datetime | None = None
    status: str = ""  # STATUS of the event (CANCELLED in a CANCEL)
    overrides: list[Invitation] = field(default_factory=list)  # occurrences sent alongside

    def attendee(self, address: str) -> Person | None:
        address = normalize_address(address)
        return next((p for p in self.attendees if p.address == address), None)


def zone_name(tzid: str) -> str:
    """The IANA name of an iCalendar TZID: Windows names through icalendar's table, IANA
    names as they are, "" for anything else."""
    tzid = (tzid or "").strip().strip('"')
    if not tzid:
        return ""
    name = WINDOWS_TO_OLSON.get(tzid, tzid)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name


def _address(value) -> str:
    text = str(value or "")
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return normalize_address(text)


def _person(value) -> Person | None:
    address = _address(value)
    if not address:
        return None
    params = getattr(value, "params", {}) or {}
    return Person(
        address=address,
        name=str(params.get("CN", "")).strip('"')[:255],
        partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
        role=str(params.get("ROLE", "")).upper()[:20],
    )


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _to_utc(value, fallback_zone: str = "") -> tuple[datetime | None, bool]:
    """(UTC datetime, all day) of a decoded DTSTART/DTEND value."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: read in the event's zone, else UTC
            value = value.replace(tzinfo=ZoneInfo(fallback_zone) if fallback_zone else UTC)
        return value.astimezone(UTC), False
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC), True
    return None, False


def _tzid_of(component, name: str) -> str:
    prop = component.get(name)
    return str(prop.params.get("TZID", "")) if prop is not None and hasattr(prop, "params") else ""


def _event(component, method: str) -> Invitation:
    tzid = _tzid_of(component, "dtstart")
    zone = zone_name(tzid)
    if not zone and tzid.upper() in ("UTC", "Z", "GMT"):
        zone = "UTC"
    start_value = component.decoded("dtstart") if "dtstart" in component else None
    start, all_day = _to_utc(start_value, zone)
    if not zone and isinstance(start_value, datetime) and start_value.tzinfo is not None:
        key = getattr(start_value.tzinfo, "key", "")
        zone = (
            key
            if key and key != "UTC"
            else ("UTC" if start_value.utcoffset() == timedelta(0) else "")
        )
    end = None
    if "dtend" in component:
        end, _all_day = _to_utc(component.decoded("dtend"), zone)
    elif "duration" in component and start is not None:
        end = start + component.decoded("duration")
    elif all_day and start is not None:
        end = start + timedelta(days=1)
    rrule = component.get("rrule")
    exdates = []
    for entry in _as_list(component.get("exdate")):
        for item in getattr(entry, "dts", []):
            moment, _all_day = _to_utc(item.dt, zone)
            if moment is not None:
                exdates.append(moment)
    recurrence_id = None
    if "recurrence-id" in component:
        recurrence_id, _all_day = _to_utc(component.decoded("recurrence-id"), zone)
    try:
        sequence = int(component.get("sequence", 0))
    except (TypeError, ValueError):
        sequence = 0
    return Invitation(
        method=method,
        uid=str(component.get("uid", ""))[:255],
        sequence=max(sequence, 0),
        title=str(component.get("summary", ""))[:255],
        start=start,
        end=end,
        all_day=all_day,
        time_zone=zone,
        location=str(component.get("location", ""))[:255],
        description=str(component.get("description", "")),
        organizer=_person(component.get("organizer")),
        attendees=[p for p in map(_person, _as_list(component.get("attendee"))) if p],
        rrule=rrule.to_ical().decode("ascii", "replace") if rrule is not None else "",
        exdates=exdates,
        recurrence_id=recurrence_id,
        status=str(component.get("status", "")).upper(),
    )


def invitation_parse(data: bytes) -> Invitation | None:
    """The event of an iTIP message, or None when the bytes are not one (no VEVENT, no
    UID, unreadable); occurrences sent beside the master event go in ``overrides``."""
    if not data or len(data) > MAX_ICS_BYTES:
        return None
    try:
        calendar = icalendar.Calendar.from_ical(data)
        method = str(calendar.get("method", "PUBLISH")).upper()
        events = [_event(c, method) for c in calendar.walk("VEVENT")]
    except Exception:  # a broken attachment is shown as a file, never breaks the page
        return None
    events = [e for e in events if e.uid and e.start is not None]
    if not events:
        return None
    master = next((e for e in events if e.recurrence_id is None), events[0])
    master.overrides = [e for e in events if e is not master]
    return master


def reply_build(
    invitation: Invitation, *, attendee: Person, partstat: str, prodid: str, now: datetime
) -> bytes:
    """The METHOD:REPLY of ``attendee`` to ``invitation`` (RFC 5546 §3.2.3): the same UID,
    SEQUENCE and RECURRENCE-ID, the organizer, the one ATTENDEE with its PARTSTAT, DTSTAMP."""
    if partstat not in PARTSTATS:
        raise ValueError(partstat)
    calendar = icalendar.Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = icalendar.Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    if invitation.start is not None:
        event.add("dtstart", invitation.start.date() if invitation.all_day else invitation.start)
    if invitation.end is not None:
        event.add("dtend", invitation.end.date() if invitation.all_day else invitation.end)
    if invitation.recurrence_id is not None:
        event.add("recurrence-id", invitation.recurrence_id)
    if invitation.title:
        event.add("summary", invitation.title)
    if invitation.organizer is not None:
        organizer = icalendar.vCalAddress(f"mailto:{invitation.organizer.address}")
        if invitation.organizer.name:
            organizer.params["CN"] = invitation.organizer.name
        event.add("organizer", organizer)
    address = icalendar.vCalAddress(f"mailto:{attendee.address}")
    address.params["PARTSTAT"] = partstat
    if attendee.name:
        address.params["CN"] = attendee.name
    event.add("attendee", address)
    calendar.add_component(event)
    return calendar.to_ical()
