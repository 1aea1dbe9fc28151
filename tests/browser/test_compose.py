"""Writing an email in a real browser: Turkish subject, a rich-text body and an attachment
with a Turkish file name, checked in the message the SMTP server received."""

from __future__ import annotations

import pytest

from mailboxes.models import Email, GroupEmailAccount
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

SUBJECT = "Sipariş İadesi — ığüşöç ĞÜŞİÖÇ"
FILENAME = "Fatura Şubat ığüşöç.pdf"


def _wait_sent(timeout: float = 15.0) -> Email:
    email = wait_until(lambda: Email.objects.filter(status=Email.Status.SENT).first(), timeout)
    if email is None:
        raise AssertionError(list(Email.objects.values_list("status", "send_error")))
    return email


def test_compose_with_turkish_subject_and_attachment(
    page, app_url, login_as, make_user, smtp_server, celery_worker, screenshot
):
    agent = make_user("ayse", first_name="Ayşe", last_name="Yılmaz", roles=[role("all")])
    support = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@example.test",
        use_imap=False,
        smtp_is_shared=True,
        from_name="Müşteri Hizmetleri",
        **smtp_fields(smtp_server),
    )

    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    page.get_by_label("From").select_option(str(support.pk))
    page.get_by_label("To", exact=True).fill("Çağrı Işık <cagri@customer.example.com>")
    page.get_by_label("Subject").fill(SUBJECT)
    editor = page.get_by_test_id("compose-editor")
    editor.click()
    page.keyboard.type("Merhaba Çağrı Bey, ")
    page.get_by_role("button", name="Bold").click()
    page.keyboard.type("faturanız ektedir")
    page.get_by_label("Attach files").set_input_files(
        files=[{"name": FILENAME, "mimeType": "application/pdf", "buffer": b"%PDF-1.4 fatura"}]
    )
    screenshot("compose-turkish")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    email = _wait_sent()
    [captured] = smtp_server.wait_for_messages(1)
    message = captured.message
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].display_name == "Çağrı Işık"
    assert message["From"].addresses[0].display_name == "Müşteri Hizmetleri"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == FILENAME
    assert attachment.get_content() == b"%PDF-1.4 fatura"
    html = message.get_body(("html",)).get_content()
    assert "<strong>faturanız ektedir</strong>" in html
    text = message.get_body(("plain",)).get_content()
    assert "Merhaba Çağrı Bey, faturanız ektedir" in text
    assert email.subject == SUBJECT and email.attachments.get().filename == FILENAME
