"""Invitations fetched from the test Dovecot through the real intake, shown on the email
page, added as meetings and answered with an iTIP REPLY through the test SMTP server; the
organizer's CANCEL and updates and an attendee's REPLY arriving by mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.stream import stream_for
from mailboxes.email_panels import email_panels_render
from mailboxes.models import Email
from mailboxes.sending.delivery import email_deliver
from meetings.intake import calendar_batch
from meetings.models import Meeting, MeetingAttendee
from tests.meetings.invitations import (
    GOOGLE_UID,
    OUTLOOK_UID,
    google_ics,
    google_message,
    outlook_ics,
    outlook_message,
)

pytestmark = pytest.mark.django_db


def _page(client, email) -> str:
    response = client.get(reverse("mailboxes:email-detail", args=[email.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_outlook_invitation_is_shown_in_the_readers_zone_in_english_and_turkish(desk, logged_in):
    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    assert [a.content_type for a in email.attachments.all()] == ["text/calendar", "application/ics"]
    assert email.parent == desk.contact

    client = logged_in(desk.user)
    page = _page(client, email)
    assert 'data-testid="invitation"' in page and 'data-method="REQUEST"' in page
    assert "Quarterly review" in page
    # 10:00 in Istanbul (Outlook's "Turkey Standard Time") is 02:00 in Ali's New York
    assert "Monday, Jan. 4, 2027, 02:00</time> – 03:00" in page
    assert "(America/New_York)" in page
    assert "10:00 in Europe/Istanbul" in page
    assert "Meeting room 1" in page
    assert "Ayşe Yılmaz" in page and "&lt;ayse@acme.example&gt;" in page
    assert "No answer yet" in page
    assert 'data-testid="invitation-accept"' in page and f"as {desk.address}" in page
    # the calendar of the body and invite.ics are the same bytes: one file listed, by name
    listed = page[page.index('data-testid="attachments"') :]
    files = re.findall(r'<span class="name">([^<]+)</span>', listed[: listed.index("</ul>")])
    assert files == ["invite.ics"]

    desk.user.language = "tr"
    desk.user.save()
    page = _page(client, email)
    assert "Pazartesi, 04 Ocak 2027, 02:00</time> – 03:00" in page
    assert "Europe/Istanbul saatiyle 10:00" in page
    assert "Katıl" in page and "Reddet" in page and "Henüz yanıt yok" in page


def test_google_invitation_accepted_sends_an_itip_reply_to_the_organizer(desk, logged_in):
    ics = google_ics(
        attendees=[
            ("Mehmet Demir", "mehmet@customer.example", "ACCEPTED"),
            (desk.address, desk.address, "NEEDS-ACTION"),
        ],
        sequence=2,
    )
    email = desk.receive(google_message(ics, to=desk.address))
    client = logged_in(desk.user)
    response = client.post(
        reverse("meetings:invitation-respond", args=[email.pk]), {"answer": "ACCEPTED"}
    )
    assert response.status_code == 302

    meeting = Meeting.objects.get()
    assert (meeting.ical_uid, meeting.sequence, meeting.title) == (GOOGLE_UID, 2, "Ürün demosu")
    assert meeting.start == datetime(2027, 3, 15, 7, 0, tzinfo=UTC)
    assert meeting.parent == desk.contact and meeting.source_email == email
    assert meeting.attendees.get(address=desk.address).partstat == "ACCEPTED"
    assert meeting.attendees.get(address=desk.address).user == desk.user
    assert meeting.attendees.get(address="mehmet@customer.example").contact == desk.contact

    reply = Email.objects.get(status=Email.Status.SENDING)
    email_deliver(reply.pk)
    [captured] = desk.smtp.wait_for_messages(1)
    sent = captured.message
    assert captured.rcpt_tos == ["mehmet@customer.example"]
    assert sent["From"].addresses[0].addr_spec == desk.address
    assert sent["Subject"] == "Accepted: Ürün demosu"
    assert sent["In-Reply-To"] == email.message_id
    [part] = [p for p in sent.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    assert part.get_content_disposition() is None  # a body alternative, not a file
    assert [p.get_content_type() for p in sent.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/calendar",
    ]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert calendar["method"] == "REPLY"
    [event] = calendar.walk("VEVENT")
    assert event["uid"] == GOOGLE_UID and event["sequence"] == 2
    assert "dtstamp" in event
    assert str(event["attendee"]) == f"mailto:{desk.address}"
    assert event["attendee"].params["PARTSTAT"] == "ACCEPTED"
    assert str(event["organizer"]) == "mailto:mehmet@customer.example"

    page = _page(client, email)
    assert "You accepted." in page and 'data-testid="invitation-meeting"' in page
    # the record's stream tells of the meeting and links to it
    notes = list(stream_for(desk.contact, desk.user).filter(type="meeting_added"))
    assert [n.related for n in notes] == [meeting]
    page = client.get(desk.contact.get_absolute_url()).content.decode()
    assert "added the meeting Ürün demosu" in page
    assert f'href="{meeting.get_absolute_url()}"' in page


@pytest.mark.parametrize("answer, subject", [("DECLINED", "Declined"), ("TENTATIVE", "Tentative")])
def test_decline_and_tentative_replies(desk, logged_in, answer, subject):
    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")], sequence=1)
    email = desk.receive(outlook_message(ics, to=desk.address))
    logged_in(desk.user).post(
        reverse("meetings:invitation-respond", args=[email.pk]), {"answer": answer}
    )
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    [captured] = desk.smtp.wait_for_messages(1)
    assert captured.message["Subject"] == f"{subject}: Quarterly review"
    [part] = [p for p in captured.message.walk() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert event["uid"] == OUTLOOK_UID and event["sequence"] == 1
    assert event["attendee"].params["PARTSTAT"] == answer
    assert Meeting.objects.get().attendees.get(address=desk.address).partstat == answer


def test_an_answer_needs_an_invited_address_the_user_may_send_from(desk, logged_in, make_user):
    ics = outlook_ics(attendees=[("Somebody", "somebody@else.example", "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    client = logged_in(desk.user)
    assert 'data-testid="invitation-accept"' not in _page(client, email)
    response = client.post(
        reverse("meetings:invitation-respond", args=[email.pk]), {"answer": "ACCEPTED"}, follow=True
    )
    assert "None of the addresses you may send from was invited." in response.content.decode()
    assert not Email.objects.filter(status=Email.Status.SENDING).exists()
    assert not Meeting.objects.exists()

    stranger = make_user("stranger")
    response = logged_in(stranger).post(
        reverse("meetings:invitation-respond", args=[email.pk]), {"answer": "ACCEPTED"}
    )
    assert response.status_code == 404


def test_cancel_by_mail_cancels_the_meeting_only_from_its_organizer(desk, logged_in):
    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()
    assert meeting.status == Meeting.Status.PLANNED

    forged = outlook_ics(method="CANCEL", sequence=1, status="CANCELLED")
    desk.receive(
        outlook_message(
            forged, sender="Mallory <mallory@evil.example>", to=desk.address, method="CANCEL"
        )
    )
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.PLANNED

    cancel = outlook_ics(method="CANCEL", sequence=1, status="CANCELLED")
    cancelled_email = desk.receive(
        outlook_message(
            cancel, subject="Canceled: Quarterly review", to=desk.address, method="CANCEL"
        )
    )
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED and meeting.sequence == 1
    page = _page(logged_in(desk.user), cancelled_email)
    assert 'data-method="CANCEL"' in page and "Meeting cancelled" in page
    assert 'data-testid="invitation-accept"' not in page
    assert stream_for(desk.contact, desk.user).filter(type="meeting_cancelled").count() == 1


def test_a_cancelled_occurrence_becomes_an_exception_of_the_series(desk, logged_in):
    series = outlook_ics(
        attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")],
        rrule="FREQ=WEEKLY;COUNT=10;BYDAY=MO",
    )
    email = desk.receive(outlook_message(series, to=desk.address))
    client = logged_in(desk.user)
    assert "Every week, on Monday, 10 times" in _page(client, email)
    client.post(reverse("meetings:invitation-add", args=[email.pk]))

    one = outlook_ics(
        method="CANCEL", sequence=1, recurrence_id="20270118T100000", status="CANCELLED"
    )
    desk.receive(outlook_message(one, to=desk.address, method="CANCEL"))
    meeting = Meeting.objects.get()
    assert meeting.status == Meeting.Status.PLANNED
    assert meeting.exdates == [datetime(2027, 1, 18, 7, 0, tzinfo=UTC).isoformat()]
    moved = outlook_ics(
        sequence=1,
        recurrence_id="20270125T100000",
        start="20270126T140000",
        end="20270126T150000",
        attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")],
    )
    desk.receive(outlook_message(moved, to=desk.address))
    meeting.refresh_from_db()
    assert meeting.start == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # the series stays
    assert meeting.overrides == [
        {
            "recurrence_id": datetime(2027, 1, 25, 7, 0, tzinfo=UTC).isoformat(),
            "start": datetime(2027, 1, 26, 11, 0, tzinfo=UTC).isoformat(),
            "end": datetime(2027, 1, 26, 12, 0, tzinfo=UTC).isoformat(),
            "cancelled": False,
        }
    ]
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert "Every week, on Monday, 10 times" in page
    assert "Jan. 18, 2027" in page  # the cancelled occurrence, in Ali's New York
    assert "Jan. 25, 2027 → Jan. 26, 2027, 06:00" in page


def test_a_request_with_a_higher_sequence_updates_the_meeting(desk, logged_in):
    first = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(first, to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))

    same = outlook_ics(start="20270104T150000", end="20270104T160000", sequence=0)
    desk.receive(outlook_message(same, to=desk.address))
    assert Meeting.objects.get().start == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)

    moved = outlook_ics(
        start="20270105T150000",
        end="20270105T160000",
        sequence=1,
        location="Meeting room 2",
        attendees=[
            ("Ali Kaya", desk.address, "NEEDS-ACTION"),
            ("Zeynep", "zeynep@acme.example", "NEEDS-ACTION"),
        ],
    )
    updated = desk.receive(outlook_message(moved, to=desk.address))
    meeting = Meeting.objects.get()
    assert meeting.start == datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    assert (meeting.sequence, meeting.location) == (1, "Meeting room 2")
    assert sorted(meeting.attendees.values_list("address", flat=True)) == sorted(
        [desk.address, "zeynep@acme.example"]
    )
    assert "Updated invitation" in _page(logged_in(desk.user), updated)


def test_a_reply_from_an_attendee_updates_their_answer(desk, logged_in):
    # Ali organizes; Zeynep answers by mail from her own address
    ics = google_ics(
        organizer=("Ali Kaya", desk.address),
        attendees=[("Zeynep", "zeynep@acme.example", "NEEDS-ACTION")],
        sequence=1,
    )
    email = desk.receive(google_message(ics, sender=f"Ali <{desk.address}>", to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))

    forged = google_ics(
        method="REPLY",
        organizer=("Ali Kaya", desk.address),
        attendees=[("Zeynep", "zeynep@acme.example", "DECLINED")],
        sequence=1,
    )
    desk.receive(
        google_message(forged, sender="mallory@evil.example", to=desk.address, method="REPLY")
    )
    attendee = MeetingAttendee.objects.get(address="zeynep@acme.example")
    assert attendee.partstat == "NEEDS-ACTION"

    answer = google_ics(
        method="REPLY",
        organizer=("Ali Kaya", desk.address),
        attendees=[("Zeynep", "zeynep@acme.example", "TENTATIVE")],
        sequence=1,
    )
    reply_email = desk.receive(
        google_message(
            answer, sender="Zeynep <zeynep@acme.example>", to=desk.address, method="REPLY"
        )
    )
    attendee.refresh_from_db()
    assert attendee.partstat == "TENTATIVE"
    page = _page(logged_in(desk.user), reply_email)
    assert "Answer to an invitation" in page and "Tentative" in page


def test_meeting_page_only_for_who_may_see_its_record_or_email(desk, logged_in, make_user):
    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()
    url = meeting.get_absolute_url()

    page = logged_in(desk.user).get(url)
    assert page.status_code == 200 and "Quarterly review" in page.content.decode()
    assert logged_in(make_user("nobody")).get(url).status_code == 404
    assert logged_in(make_user("boss", level="all")).get(url).status_code == 200
    response = logged_in(make_user("nosy")).post(
        reverse("meetings:meeting-status", args=[meeting.pk]), {"status": "held"}
    )
    assert response.status_code == 404
    logged_in(desk.user).post(
        reverse("meetings:meeting-status", args=[meeting.pk]), {"status": "held"}
    )
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.HELD


def test_email_without_invitation_costs_the_panel_and_the_intake_step_no_query(desk, rf):
    from tests.mailboxes.conftest import make_message

    email = desk.receive(make_message(to=desk.address))
    email = Email.objects.prefetch_related("attachments").get(pk=email.pk)
    request = rf.get("/")
    request.user = desk.user
    with CaptureQueriesContext(connection) as queries:
        assert email_panels_render(request, email) == []
    assert len(queries) == 0

    class Ctx:
        is_new_email = True
        parsed = type("P", (), {"sender": None, "attachments": []})()

    with CaptureQueriesContext(connection) as queries:
        calendar_batch([Ctx()])
    assert len(queries) == 0


def test_a_title_with_a_line_break_cannot_add_headers_to_the_reply(desk, logged_in):
    ics = google_ics(
        summary="Demo\r\nBcc: evil@attacker.example",
        attendees=[(desk.address, desk.address, "NEEDS-ACTION")],
    )
    email = desk.receive(google_message(ics, to=desk.address))
    logged_in(desk.user).post(
        reverse("meetings:invitation-respond", args=[email.pk]), {"answer": "ACCEPTED"}
    )
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    [captured] = desk.smtp.wait_for_messages(1)
    assert captured.message["Subject"] == "Accepted: Demo Bcc: evil@attacker.example"
    assert captured.message["Bcc"] is None
    assert captured.rcpt_tos == ["mehmet@customer.example"]


def test_a_reply_as_a_single_text_calendar_part_updates_the_answer(desk, logged_in):
    """Some clients (Apple's among them) answer with a message that is one text/calendar
    part (RFC 6047's smallest form)."""
    ics = google_ics(
        organizer=("Ali Kaya", desk.address),
        attendees=[("Zeynep", "zeynep@acme.example", "NEEDS-ACTION")],
    )
    email = desk.receive(google_message(ics, sender=f"Ali <{desk.address}>", to=desk.address))
    client = logged_in(desk.user)
    client.post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()

    answer = google_ics(
        method="REPLY",
        organizer=("Ali Kaya", desk.address),
        attendees=[("Zeynep", "zeynep@acme.example", "ACCEPTED")],
    )
    message = EmailMessage()
    message["From"] = "Zeynep <zeynep@acme.example>"
    message["To"] = desk.address
    message["Subject"] = "Accepted: Ürün demosu"
    message["Message-ID"] = make_msgid(domain="icloud.example")
    message.set_content(answer.decode(), subtype="calendar", params={"method": "REPLY"})
    desk.receive(message.as_bytes())
    assert meeting.attendees.get(address="zeynep@acme.example").partstat == "ACCEPTED"


def test_meeting_page_links_its_invitation_while_the_email_exists(desk, logged_in):
    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    client = logged_in(desk.user)
    client.post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()
    link = f'href="{reverse("mailboxes:email-detail", args=[email.pk])}"'

    assert link in client.get(meeting.get_absolute_url()).content.decode()
    email.delete()
    page = client.get(meeting.get_absolute_url())
    assert page.status_code == 200 and link not in page.content.decode()


def test_setting_attendees_updates_the_known_and_adds_the_new_in_a_fixed_number_of_queries(
    desk, logged_in
):
    from meetings.ical import Person
    from meetings.services import _attendees_set

    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()

    def people(count: int) -> list[Person]:
        guests = [
            Person(f"guest{i}@example.test", f"Guest {i}", "NEEDS-ACTION", "") for i in range(count)
        ]
        return [Person(desk.address, "Ali K.", "TENTATIVE", "CHAIR"), *guests]

    with CaptureQueriesContext(connection) as few:
        _attendees_set(meeting, people(2))
    with CaptureQueriesContext(connection) as many:
        _attendees_set(meeting, people(12))
    assert len(many) == len(few)
    ali = meeting.attendees.get(address=desk.address)
    assert (ali.name, ali.partstat, ali.role) == ("Ali K.", "TENTATIVE", "CHAIR")
    assert meeting.attendees.count() == 13
    assert meeting.attendees.get(address="guest11@example.test").name == "Guest 11"


def test_setting_attendees_lists_each_once_links_users_by_any_case_and_keeps_who_answered(
    desk, logged_in
):
    """An invitation naming an attendee twice, a user whose login address has capitals, and
    the user who answered from a mailbox other than their login address, after the
    organizer's update."""
    from django.contrib.auth import get_user_model

    from meetings.ical import Person
    from meetings.services import _attendees_set

    ics = outlook_ics(attendees=[("Ali Kaya", desk.address, "NEEDS-ACTION")])
    email = desk.receive(outlook_message(ics, to=desk.address))
    logged_in(desk.user).post(reverse("meetings:invitation-add", args=[email.pk]))
    meeting = Meeting.objects.get()
    meeting.attendees.filter(address=desk.address).update(user=desk.user)
    cem = get_user_model().objects.create_user("cem", email="Cem.Aydin@Firma.Example")

    _attendees_set(
        meeting,
        [
            Person(desk.address, "Ali K.", "ACCEPTED", "CHAIR"),
            Person("cem.aydin@firma.example", "Cem", "NEEDS-ACTION", ""),
            Person("cem.aydin@firma.example", "Cem again", "DECLINED", ""),
        ],
    )

    assert meeting.attendees.count() == 2
    assert meeting.attendees.get(address=desk.address).user == desk.user
    cem_row = meeting.attendees.get(address="cem.aydin@firma.example")
    assert (cem_row.user, cem_row.name) == (cem, "Cem")
