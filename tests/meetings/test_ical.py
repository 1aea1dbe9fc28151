"""Reading invitations (Outlook's Windows zones, Google's UTC and IANA zones), the REPLY
written back, and recurrence rules in words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.utils import timezone, translation

from meetings.ical import Person, invitation_parse, reply_build, zone_name
from meetings.recurrence import rrule_text
from tests.meetings.invitations import GOOGLE_UID, OUTLOOK_UID, google_ics, outlook_ics


def test_outlook_invitation_with_a_windows_zone_is_read_in_that_zone():
    invitation = invitation_parse(outlook_ics(tzid="Turkey Standard Time"))
    assert invitation.method == "REQUEST"
    assert invitation.uid == OUTLOOK_UID
    assert invitation.title == "Quarterly review"
    assert invitation.start == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # 10:00 at +03:00
    assert invitation.end == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    assert invitation.time_zone == "Europe/Istanbul"
    assert invitation.location == "Meeting room 1"
    assert invitation.description == "Agenda: numbers, plans\n"
    assert invitation.organizer == Person("ayse@acme.example", "Ayşe Yılmaz", "NEEDS-ACTION", "")
    assert [(p.address, p.name, p.partstat) for p in invitation.attendees] == [
        ("ali@example.test", "Ali Kaya", "NEEDS-ACTION")
    ]


@pytest.mark.parametrize(
    "start, utc_hour",
    [("20270104T100000", 9), ("20270705T100000", 8)],  # winter +01:00, summer +02:00
)
def test_outlook_w_europe_zone_follows_its_vtimezone_rules(start, utc_hour):
    invitation = invitation_parse(
        outlook_ics(tzid="W. Europe Standard Time", start=start, end=start)
    )
    assert invitation.start.hour == utc_hour
    assert invitation.time_zone == "Europe/Berlin"


def test_google_invitation_in_utc_and_in_an_iana_zone():
    invitation = invitation_parse(google_ics())
    assert invitation.uid == GOOGLE_UID
    assert invitation.title == "Ürün demosu"
    assert invitation.start == datetime(2027, 3, 15, 7, 0, tzinfo=UTC)
    assert invitation.time_zone == "UTC"
    assert invitation.organizer.address == "mehmet@customer.example"
    assert {p.address: p.partstat for p in invitation.attendees} == {
        "mehmet@customer.example": "ACCEPTED",
        "ali@example.test": "NEEDS-ACTION",
    }

    istanbul = ZoneInfo("Europe/Istanbul")
    zoned = invitation_parse(
        google_ics(
            start=datetime(2027, 3, 15, 10, 0, tzinfo=istanbul),
            end=datetime(2027, 3, 15, 11, 0, tzinfo=istanbul),
        )
    )
    assert b"TZID=Europe/Istanbul" in google_ics(
        start=datetime(2027, 3, 15, 10, 0, tzinfo=istanbul),
        end=datetime(2027, 3, 15, 11, 0, tzinfo=istanbul),
    )
    assert zoned.start == datetime(2027, 3, 15, 7, 0, tzinfo=UTC)
    assert zoned.time_zone == "Europe/Istanbul"


def test_all_day_event_and_broken_calendars():
    calendar = icalendar.Calendar()
    calendar.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", "allday-1")
    event.add("summary", "Bayram")
    event.add("dtstart", datetime(2027, 3, 20).date())
    calendar.add_component(event)
    invitation = invitation_parse(calendar.to_ical())
    assert invitation.all_day
    assert invitation.start == datetime(2027, 3, 20, tzinfo=UTC)
    assert invitation.end == datetime(2027, 3, 21, tzinfo=UTC)

    assert invitation_parse(b"") is None
    assert invitation_parse(b"not a calendar") is None
    assert invitation_parse(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") is None  # no event


def test_recurring_outlook_event_with_an_exception():
    invitation = invitation_parse(
        outlook_ics(
            rrule="FREQ=WEEKLY;UNTIL=20270301T070000Z;INTERVAL=1;BYDAY=MO;WKST=MO",
            exdate="20270111T100000",
        )
    )
    assert invitation.rrule == "FREQ=WEEKLY;UNTIL=20270301T070000Z;INTERVAL=1;BYDAY=MO;WKST=MO"
    assert invitation.exdates == [datetime(2027, 1, 11, 7, 0, tzinfo=UTC)]


def test_zone_names():
    assert zone_name("Turkey Standard Time") == "Europe/Istanbul"
    assert zone_name("W. Europe Standard Time") == "Europe/Berlin"
    assert zone_name("Europe/Istanbul") == "Europe/Istanbul"
    assert zone_name("Customized Time Zone") == ""


@pytest.mark.parametrize(
    "rule, english, turkish",
    [
        ("FREQ=DAILY", "Every day", "Her gün"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10",
            "Every 2 weeks, on Monday, Wednesday, 10 times",
            "2 haftada bir, Pazartesi, Çarşamba günleri, 10 kez",
        ),
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            "Every month, on the second Tuesday",
            "Her ay, ayın ikinci Salı günü",
        ),
        (
            "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1",
            "Every month, on the last Friday",
            "Her ay, ayın son Cuma günü",
        ),
        (
            "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=23",
            "Every year, on day 23 of the month, in April",
            "Her yıl, ayın 23. günü, Nisan ayında",
        ),
        (
            "FREQ=WEEKLY;UNTIL=20270301T070000Z;BYDAY=MO;WKST=MO",
            "Every week, on Monday, until March 1, 2027",
            "Her hafta, Pazartesi günleri, 01 Mart 2027 tarihine kadar",
        ),
        ("FREQ=HOURLY", "FREQ=HOURLY", "FREQ=HOURLY"),  # not described: shown as written
        ("FREQ=DAILY;BYHOUR=9", "FREQ=DAILY;BYHOUR=9", "FREQ=DAILY;BYHOUR=9"),
    ],
)
def test_recurrence_in_words_in_english_and_turkish(rule, english, turkish):
    with timezone.override("Europe/Istanbul"):
        with translation.override("en"):
            assert rrule_text(rule) == english
        with translation.override("tr"):
            assert rrule_text(rule) == turkish


def test_reply_carries_uid_sequence_attendee_partstat_and_dtstamp():
    invitation = invitation_parse(outlook_ics(sequence=3))
    data = reply_build(
        invitation,
        attendee=Person("ali@example.test", "Ali Kaya"),
        partstat="TENTATIVE",
        prodid="-//Postaci//Meetings//EN",
        now=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
    )
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["method"] == "REPLY"
    [event] = calendar.walk("VEVENT")
    assert event["uid"] == OUTLOOK_UID
    assert event["sequence"] == 3
    assert event.decoded("dtstamp") == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert str(event["organizer"]) == "mailto:ayse@acme.example"
    attendee = event["attendee"]
    assert str(attendee) == "mailto:ali@example.test"
    assert attendee.params["PARTSTAT"] == "TENTATIVE"
    with pytest.raises(ValueError):
        reply_build(
            invitation,
            attendee=Person("a@b.c"),
            partstat="MAYBE",
            prodid="x",
            now=datetime.now(UTC),
        )


def test_windows_zone_without_its_vtimezone_is_still_read():
    data = (
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x1\r\n"
        b"SUMMARY:T\r\nDTSTART;TZID=Turkey Standard Time:20270104T100000\r\n"
        b'DTEND;TZID="W. Europe Standard Time":20270104T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'
    )
    invitation = invitation_parse(data)
    assert invitation.start == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
    assert invitation.end == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
    assert invitation.time_zone == "Europe/Istanbul"
