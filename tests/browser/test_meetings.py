"""A calendar invitation on the email page in a real browser, in English and Turkish:
fetched from the test Dovecot, answered with Accept, the REPLY received by the test SMTP
server. Screenshots go to var/screens/."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from playwright.sync_api import expect

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email
from mailboxes.sending.delivery import email_deliver
from meetings.models import Meeting
from tests.mailboxes.sending.conftest import smtp_fields
from tests.mailboxes.ui.conftest import media_root  # noqa: F401  (fixture)
from tests.meetings.invitations import OUTLOOK_UID, outlook_ics, outlook_message

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"


def _shot(page, name: str) -> Path:
    body = page.frame_locator("[data-testid=email-body]")
    if page.get_by_test_id("email-body").count():
        expect(body.get_by_text("let us go through the quarter")).to_be_visible()
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    # the viewport made as tall as the page instead of full_page, which leaves the sandboxed
    # body frame blank in Chromium's capture
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(height, 720)})
    page.screenshot(path=str(path))
    return path


def test_invitation_on_the_email_page_in_english_and_turkish(
    page,
    app_url,
    login_as,
    make_user,
    make_record,
    make_personal_account,
    dovecot,
    imap_user,
    smtp_server,
):
    ali = make_user("ali", first_name="Ali", last_name="Kaya", time_zone="America/New_York")
    account = make_personal_account(ali, imap_user, **smtp_fields(smtp_server))
    make_record(
        "contact", ali, first_name="Ayşe", last_name="Yılmaz", addresses=["ayse@acme.example"]
    )
    ics = outlook_ics(
        tzid="W. Europe Standard Time",
        start="20270104T100000",
        end="20270104T113000",
        summary="Quarterly review",
        rrule="FREQ=WEEKLY;UNTIL=20270329T090000Z;INTERVAL=1;BYDAY=MO;WKST=MO",
        exdate="20270111T100000",
        attendees=[
            ("Ali Kaya", imap_user.email, "NEEDS-ACTION"),
            ("Zeynep Demir", "zeynep@acme.example", "ACCEPTED"),
            ("Can Öztürk", "can@acme.example", "DECLINED"),
        ],
    )
    dovecot.deliver(imap_user, outlook_message(ics, to=imap_user.email))
    assert fetch_account(account.pk).imported == 1
    email = Email.objects.get()

    login_as(ali)
    page.goto(app_url(f"/emails/{email.pk}/"))
    panel = page.get_by_test_id("invitation")
    expect(panel).to_be_visible()
    # 10:00 in Berlin (Outlook's "W. Europe Standard Time") is 04:00 in New York
    expect(page.get_by_test_id("invitation-when")).to_contain_text("Monday, Jan. 4, 2027, 04:00")
    expect(page.get_by_test_id("invitation-when")).to_contain_text("10:00 in Europe/Berlin")
    expect(page.get_by_test_id("invitation-recurrence")).to_contain_text(
        "Every week, on Monday, until March 29, 2027"
    )
    _shot(page, "invitation-en")

    page.get_by_test_id("invitation-accept").click()
    expect(page.get_by_text("You accepted; the answer is on its way")).to_be_visible()
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    [captured] = smtp_server.wait_for_messages(1)
    [part] = [p for p in captured.message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert event["uid"] == OUTLOOK_UID
    assert event["attendee"].params["PARTSTAT"] == "ACCEPTED"
    assert Meeting.objects.get().attendees.get(address=imap_user.email).partstat == "ACCEPTED"

    ali.language, ali.time_zone = "tr", "Europe/Istanbul"
    ali.save()
    page.goto(app_url(f"/emails/{email.pk}/"))
    expect(page.get_by_test_id("invitation-when")).to_contain_text("Pazartesi, 04 Ocak 2027, 12:00")
    expect(page.get_by_test_id("invitation-when")).to_contain_text("Europe/Berlin saatiyle 10:00")
    expect(page.get_by_test_id("invitation-recurrence")).to_contain_text(
        "Her hafta, Pazartesi günleri, 29 Mart 2027 tarihine kadar"
    )
    expect(page.get_by_test_id("invitation-my-answer")).to_have_text("Kabul ettiniz.")
    _shot(page, "invitation-tr")

    page.get_by_test_id("invitation-meeting").click()
    expect(page.get_by_test_id("meeting-attendees")).to_contain_text("Katılacak")
    _shot(page, "meeting-tr")
