"""Settings discovery in the account form: typing an address fills in the server settings,
never over what the user typed; the message says where the settings came from."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def type_address(page, address: str) -> None:
    page.locator("#id_email_address").fill(address)
    page.locator("#id_email_address").press("Tab")  # the form asks when the field is left


def expect_server(page, prefix: str, host: str, port: int, security: str, username: str):
    expect(page.locator(f"#id_{prefix}_host")).to_have_value(host)
    expect(page.locator(f"#id_{prefix}_port")).to_have_value(str(port))
    expect(page.locator(f"#id_{prefix}_security")).to_have_value(security)
    expect(page.locator(f"#id_{prefix}_username")).to_have_value(username)


def test_address_fills_the_server_settings_but_never_what_the_user_typed(
    page, app_url, login_as, make_user
):
    login_as(make_user("ayse", first_name="Ayşe"))
    page.goto(app_url("/emails/accounts/new/"))
    note = page.get_by_test_id("discovery-note")
    expect(note).to_be_hidden()

    type_address(page, "ayse@gmail.com")

    expect(note).to_have_text(
        "Settings found for Gmail (from Postaci's list of mail providers). "
        "Check them before saving."
    )
    expect_server(page, "imap", "imap.gmail.com", 993, "ssl", "ayse@gmail.com")
    expect_server(page, "smtp", "smtp.gmail.com", 465, "ssl", "ayse@gmail.com")

    # her own IMAP server, typed by hand, survives the next address; SMTP still holds the
    # suggestion and follows the new address
    page.locator("#id_imap_host").fill("imap.own-server.test")
    page.locator("#id_imap_port").fill("1993")
    type_address(page, "ayse@yahoo.com")

    expect(note).to_contain_text("Settings found for Yahoo Mail")
    expect_server(page, "imap", "imap.own-server.test", 1993, "ssl", "ayse@yahoo.com")
    expect_server(page, "smtp", "smtp.mail.yahoo.com", 465, "ssl", "ayse@yahoo.com")

    # a typed SMTP user name is hers too
    page.locator("#id_smtp_username").fill("ayse.smtp")
    type_address(page, "ayse@icloud.com")

    expect(note).to_contain_text("Settings found for iCloud Mail")
    expect_server(page, "smtp", "smtp.mail.me.com", 587, "starttls", "ayse.smtp")
    expect(page.locator("#id_imap_host")).to_have_value("imap.own-server.test")
    expect(page.locator("#id_imap_username")).to_have_value("ayse")


@pytest.mark.parametrize("language", ["en", "tr"])
def test_company_domain_gets_the_hosting_convention_in_the_users_language(
    page, app_url, login_as, make_user, dns_server, settings, screenshot, language
):
    dns_server.serve("mail.firma.com.tr. 300 IN A 127.0.0.1")
    settings.POSTACI_MAIL_HOST_ALLOWLIST = [
        *settings.POSTACI_MAIL_HOST_ALLOWLIST,
        "mail.firma.com.tr",  # stands for the hosting company's public address
    ]
    login_as(make_user("ayse", first_name="Ayşe", language=language))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(app_url("/emails/accounts/new/"))
    page.locator("#id_name").fill("Muhasebe")

    type_address(page, "muhasebe@firma.com.tr")

    expected = {
        "en": "Settings found for firma.com.tr (guessed from the usual mail.firma.com.tr name; "
        "check it with your hosting provider). Check them before saving.",
        "tr": "firma.com.tr için ayarlar bulundu (yaygın mail.firma.com.tr adına göre tahmin "
        "edildi; hosting firmanızla doğrulayın). Kaydetmeden önce kontrol edin.",
    }[language]
    expect(page.get_by_test_id("discovery-note")).to_have_text(expected)
    address = "muhasebe@firma.com.tr"
    expect_server(page, "imap", "mail.firma.com.tr", 993, "ssl", address)
    expect_server(page, "smtp", "mail.firma.com.tr", 465, "ssl", address)
    screenshot(f"account-discovery-{language}")
