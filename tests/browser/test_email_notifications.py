"""A follower of an Account sees the bell count rise as a customer's email arrives, opens the
notification and lands on the email in the Account's stream — in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Note
from crm.stream import record_follow
from mailboxes.intake.fetch import fetch_account
from tests.browser.conftest import SCREENSHOT_DIR
from tests.mailboxes.conftest import make_group_account, make_message  # noqa: F401

pytestmark = pytest.mark.browser


def test_follower_sees_the_bell_rise_and_opens_the_email_in_the_stream(
    page,
    app_url,
    login_as,
    make_user,
    make_record,
    dovecot,
    make_group_account,  # noqa: F811  (the fixture imported above)
    settings,
    screenshot,
):
    settings.POSTACI_NOTIFICATION_POLL_SECONDS = 1
    owner = make_user("owner", level="all")
    acme = make_record("account", owner, name="Acme Corp", addresses=["info@acme.example"])
    make_record(
        "contact",
        owner,
        first_name="Ayşe",
        last_name="Yılmaz",
        account=acme,
        addresses=["ayse@acme.example"],
    )
    follower = make_user("follower", level="all", first_name="Fatma", last_name="Follower")
    record_follow(acme, follower)
    inbox = dovecot.add_user("sales")
    account = make_group_account(inbox)
    fetch_account(account.pk)  # the first fetch sets the cursor; later mail notifies

    login_as(follower)
    bell = page.get_by_test_id("notification-bell")
    expect(bell).to_be_visible()
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    page.evaluate("window.postaciMarker = 'no reload'")

    dovecot.deliver(
        inbox,
        make_message(
            sender="Ayşe Yılmaz <ayse@acme.example>",
            to=inbox.email,
            subject="Pallets arrived damaged",
            body="Three of the five pallets arrived damaged. Please call me.",
        ),
    )
    assert fetch_account(account.pk).imported == 1

    expect(page.get_by_test_id("notification-count")).to_have_text("1", timeout=10_000)
    assert page.evaluate("window.postaciMarker") == "no reload"
    screenshot("bell-count")

    page.get_by_test_id("notification-bell").click()
    item = page.get_by_test_id("notification-open").first
    expect(item).to_have_text("New email on Acme Corp")
    expect(page.locator(".notification").first).to_contain_text("Pallets arrived damaged")
    screenshot("notifications-email")
    item.click()

    note = Note.objects.get(type=Note.Type.EMAIL_RECEIVED)
    expect(page).to_have_url(
        re.compile(rf"{acme.get_absolute_url()}\?note={note.pk}#note-{note.pk}$")
    )
    entry = page.locator(f"#note-{note.pk}")
    expect(entry).to_be_in_viewport()
    expect(entry).to_contain_text("Pallets arrived damaged")
    expect(entry).to_contain_text("linked by sender")
    expect(page.get_by_test_id("notification-count")).to_have_count(0)  # opened means read
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.locator("#stream-panel").screenshot(
        path=str(SCREENSHOT_DIR / "email-in-account-stream.png")
    )
