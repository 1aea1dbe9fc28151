"""Attached emails and winmail.dat in a real browser (issue 19): a forwarded email shown as
an email with its HTML body framed and its file downloadable, the files of a winmail.dat
listed under it; in English and in Turkish."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, EmailUser
from tests.browser.conftest import SCREENSHOT_DIR
from tests.mailboxes.conftest import make_message
from tests.mailboxes.tnef_builder import build_tnef
from tests.mailboxes.ui.conftest import media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
INVOICE = b"%PDF-1.4\nfatura\n%%EOF\n"


def _screenshot(page, name: str, *, height: int, bottom: bool = False) -> None:
    """What the window shows, ``height`` pixels tall, at the top or the bottom of the page
    (a full-page shot resizes the page and may catch the body frames before they are
    painted again)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": height})
    page.evaluate("window.scrollTo(0, %s)" % ("document.body.scrollHeight" if bottom else "0"))
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))


def _forward() -> bytes:
    invoice = EmailMessage()
    invoice["From"] = "Muhasebe <muhasebe@tedarikci.example>"
    invoice["To"] = "ali@musteri.example"
    invoice["Subject"] = "Şubat faturası"
    invoice["Date"] = "Mon, 02 Feb 2026 09:30:00 +0300"
    invoice.set_content("Şubat faturanız ektedir.")
    invoice.add_attachment(
        INVOICE, maintype="application", subtype="pdf", filename="Fatura Şubat.pdf"
    )
    order = EmailMessage()
    order["From"] = "Ali Veli <ali@musteri.example>"
    order["To"] = "Destek <destek@example.test>"
    order["Cc"] = "Zeynep Kaya <zeynep@musteri.example>"
    order["Subject"] = "Sipariş 1042"
    order["Date"] = "Tue, 03 Feb 2026 10:00:00 +0300"
    order.set_content("Sipariş 1042")
    order.add_alternative(
        "<p>Merhaba,</p><p>Sipariş <b>1042</b> için faturayı ekte iletiyorum.</p>"
        '<script>document.title="hacked"</script>',
        subtype="html",
    )
    order.add_attachment(invoice)
    forward = EmailMessage()
    forward["From"] = "Customer <customer@example.com>"
    forward["To"] = "support@example.test"
    forward["Subject"] = "Fwd: Sipariş 1042"
    forward["Message-ID"] = "<browser-forward@example.com>"
    forward.set_content("Could you look at the message below?")
    forward.add_attachment(order)
    return forward.as_bytes()


def test_forwarded_email_and_winmail_dat_are_readable(
    page, app_url, login_as, make_user, dovecot, imap_user, make_group_account
):
    ayse = make_user("ayse", first_name="Ayşe", language="en")
    mehmet = make_user("mehmet", first_name="Mehmet", language="tr")
    tnef = build_tnef(
        [("Teklif Şubat 2026.pdf", b"%PDF-1.4 teklif"), ("Ürün listesi.xlsx", b"PK\x03\x04")],
        body_html="<p>Teklifimiz ektedir.</p>",
    )
    dovecot.append(imap_user, "INBOX", _forward())
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(
            subject="Outlook teklif",
            body="",
            attachments=[("winmail.dat", "application/ms-tnef", tnef)],
        ),
    )
    assert fetch_account(make_group_account(imap_user).pk).imported == 2
    EmailUser.objects.bulk_create(
        [EmailUser(email=e, user=u) for e in Email.objects.all() for u in (ayse, mehmet)]
    )
    forward = Email.objects.get(subject="Fwd: Sipariş 1042")
    outlook = Email.objects.get(subject="Outlook teklif")

    for user, language in ((ayse, "en"), (mehmet, "tr")):
        page.context.clear_cookies()
        login_as(user)
        page.goto(app_url(forward.get_absolute_url()))
        enclosed = page.get_by_test_id("enclosed-message")
        expect(enclosed).to_have_count(2)  # the forwarded email and the one inside it
        order = enclosed.first
        expect(order.get_by_test_id("enclosed-subject").first).to_have_text("Sipariş 1042")
        expect(order).to_contain_text("Zeynep Kaya <zeynep@musteri.example>")
        body = page.frame_locator('[data-testid="enclosed-body"]').first
        expect(body.locator("b")).to_have_text("1042")
        expect(body.locator("body")).to_contain_text("faturayı ekte iletiyorum")
        assert page.title() != "hacked"
        expect(enclosed.nth(1).get_by_test_id("enclosed-subject")).to_have_text("Şubat faturası")
        label = "Attached email" if language == "en" else "Ekli e-posta"
        expect(order.get_by_role("heading", level=3).first).to_contain_text(label)
        with page.expect_download() as download:
            enclosed.nth(1).get_by_test_id("enclosed-files").get_by_role("link").click()
        assert download.value.suggested_filename == "Fatura Şubat.pdf"
        with open(download.value.path(), "rb") as handle:
            assert handle.read() == INVOICE
        _screenshot(page, f"attached-email-{language}", height=1450)

        page.goto(app_url(outlook.get_absolute_url()))
        unpacked = page.get_by_test_id("unpacked-files")
        expect(unpacked).to_contain_text("Teklif Şubat 2026.pdf")
        expect(unpacked).to_contain_text("Ürün listesi.xlsx")
        inside = "Files inside winmail.dat:" if language == "en" else "winmail.dat içindeki"
        expect(unpacked).to_contain_text(inside)
        with page.expect_download() as download:
            unpacked.get_by_role("link", name="Teklif Şubat 2026.pdf").click()
        assert download.value.suggested_filename == "Teklif Şubat 2026.pdf"
        body = page.frame_locator('[data-testid="email-body"]')
        expect(body.locator("body")).to_contain_text("Teklifimiz ektedir.")
        _screenshot(page, f"winmail-{language}", height=1000, bottom=True)
