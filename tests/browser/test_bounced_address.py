"""A bounced address on a contact, in a real browser: struck through with why, in English
and in Turkish (screenshots in var/screens/), and Mark valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.models import EmailAddress

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"


@pytest.fixture
def bounced_contact(make_user, make_record, transactional_db):
    owner = make_user("owner", level="all")
    contact = make_record(
        "contact",
        owner,
        first_name="Ayşe",
        last_name="Yılmaz",
        addresses=["ayse@customer.example", "gone@customer.example"],
    )
    EmailAddress.objects.filter(address="gone@customer.example").update(
        is_invalid=True,
        invalid_source="hard_bounce",
        invalid_status="5.1.1",
        invalid_diagnostic="550 5.1.1 <gone@customer.example>: Recipient address rejected",
    )
    return contact


@pytest.mark.parametrize(
    ("language", "reason", "mark_valid"),
    [
        ("en", "— bounced: mailbox does not exist (5.1.1)", "Mark valid"),
        ("tr", "— geri döndü: posta kutusu yok (5.1.1)", "Geçerli işaretle"),
    ],
)
def test_bounced_address_is_struck_through_with_its_reason(
    page, app_url, login_as, make_user, bounced_contact, language, reason, mark_valid
):
    agent = make_user(f"agent-{language}", level="all", language=language)
    login_as(agent)
    page.goto(app_url(bounced_contact.get_absolute_url()))

    invalid = page.locator(".address-invalid")
    expect(invalid).to_have_count(1)
    expect(invalid.locator("s")).to_have_text("gone@customer.example")
    expect(invalid.locator(".address-reason")).to_have_text(reason)
    assert invalid.locator("s").evaluate("e => getComputedStyle(e).textDecorationLine") == (
        "line-through"
    )
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.locator(".fields").screenshot(path=str(SCREENS / f"bounced-address-{language}.png"))
    page.screenshot(path=str(SCREENS / f"bounced-contact-{language}.png"), full_page=True)

    page.get_by_role("button", name=mark_valid).click()
    expect(page.locator(".address-invalid")).to_have_count(0)
    assert not EmailAddress.objects.get(address="gone@customer.example").is_invalid
