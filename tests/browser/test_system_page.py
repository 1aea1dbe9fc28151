"""Administration › System in a real browser, English and Turkish, with a lagging and a
failing mailbox; the screenshots land in artifacts/screenshots/system-*.png."""

from __future__ import annotations

import re

from tests.ops.system_data import system_data


def test_system_page_in_english_and_turkish(page, app_url, login_as, make_user, screenshot):
    system_data()
    admin = make_user("root", admin=True, first_name="Ada", last_name="Admin")
    login_as(admin)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(app_url("/administration/system/"))
    page.wait_for_selector(".ops-chart canvas")
    assert page.locator(".ops-chart canvas").count() == 4
    rows = page.locator("[data-testid=ops-mailboxes] tbody tr")
    assert rows.nth(0).inner_text().startswith("Sales")
    assert "The server refused the user name or password." in rows.nth(1).inner_text()
    screenshot("system-en")
    ticks = page.locator(".ops-chart").first.get_attribute("data-ticks").split("|")
    assert any("AM" in tick or "PM" in tick for tick in ticks), ticks

    admin.language = "tr"
    admin.save(update_fields=["language"])
    page.goto(app_url("/administration/system/"))
    page.wait_for_selector(".ops-chart canvas")
    assert "Sistem durumu" in page.locator("h1").inner_text()
    screenshot("system-tr")
    ticks = page.locator(".ops-chart").first.get_attribute("data-ticks").split("|")
    assert ticks and all(re.fullmatch(r"\d\d:\d\d", tick) for tick in ticks), ticks
