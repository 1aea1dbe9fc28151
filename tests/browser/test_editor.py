"""The compose editor (Jodit) in real Chromium: formatting and a table, a pasted image as an
inline cid: part, files dropped as attachments, the signature switched with the From (once),
plain-text mode, a template typed with "::" above the signature and the quote, and the
signature settings — each email checked as aiosmtpd received it."""

from __future__ import annotations

import base64
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.addresses import addresses_get_or_create
from mailboxes.models import (
    Email,
    EmailRecipient,
    EmailUser,
    GroupEmailAccount,
    PersonalEmailAccount,
    UserSignature,
)
from mailtemplates.models import EmailTemplate
from tests.browser.conftest import PASSWORD
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
MINE = "<p>Ayşe Yılmaz — Satış</p>"
TEAM = "<p><strong>Destek Ekibi</strong> · 0212 555 00 00</p>"


@pytest.fixture
def desk(make_user, smtp_server):
    agent = make_user("ayse", first_name="Ayşe", last_name="Yılmaz", roles=[role("all")])
    UserSignature.objects.create(user=agent, html=MINE)
    personal = PersonalEmailAccount.objects.create(
        owner=agent,
        name="Mine",
        email_address="ayse@postaci.example",
        use_imap=False,
        **smtp_fields(smtp_server),
    )
    support = GroupEmailAccount.objects.create(
        name="Destek",
        email_address="destek@postaci.example",
        from_name="Destek Ekibi",
        use_imap=False,
        smtp_is_shared=True,
        signature_html=TEAM,
        **smtp_fields(smtp_server),
    )
    return agent, personal, support


def _sent(smtp_server):
    email = wait_until(lambda: Email.objects.filter(status=Email.Status.SENT).first(), 15.0)
    if email is None:
        raise AssertionError(list(Email.objects.values_list("status", "send_error")))
    [captured] = smtp_server.wait_for_messages(1)
    return captured.message


def _toolbar(page, name: str):
    return page.locator(f".jodit-toolbar-button_{name} button").first


def test_formatting_and_a_table_arrive_as_html(
    page, app_url, login_as, desk, smtp_server, celery_worker
):
    agent, personal, _support = desk
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    page.get_by_label("From").select_option(str(personal.pk))
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("Prices")
    page.evaluate(
        """() => { window.formInputs = 0;
            document.querySelector("form[data-compose]").addEventListener("input", (event) => {
                if (event.target.tagName === "FORM") window.formInputs += 1; }); }"""
    )
    editor = page.get_by_test_id("compose-editor")
    editor.locator("p").first.click()  # the empty line above the signature
    page.keyboard.type("Hello ")
    page.keyboard.press("Control+b")
    page.keyboard.type("Can")
    page.keyboard.press("Control+b")
    page.keyboard.press("Enter")
    _toolbar(page, "ul").click()
    page.keyboard.type("first")
    page.keyboard.press("Enter")
    page.keyboard.type("second")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # out of the list
    _toolbar(page, "table").click()
    # the size picker: the cell of row 2, column 2 makes a 2×2 table
    page.locator(".jodit-form__container span[data-index='11']").click()
    cells = editor.locator("td")
    expect(cells).to_have_count(4)
    for index, text in enumerate(["Ürün", "Fiyat", "Toner", "120 TL"]):
        cells.nth(index).click()
        page.keyboard.type(text)
    # the hidden field follows along (the editor writes it after a short pause)
    expect(page.locator("input[name=body_html]")).to_have_value(re.compile("<table.*Toner", re.S))
    assert page.locator("input[name=body_format]").input_value() == "html"
    assert page.evaluate("window.formInputs") > 0  # autosave and others hear each change
    assert errors == []
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    html = message.get_body(("html",)).get_content()
    assert "Hello <strong>Can</strong>" in html.replace("&nbsp;", " ")
    assert re.search(r"<ul>\s*<li>first</li>\s*<li>second</li>\s*</ul>", html)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows] == [
        ["Ürün", "Fiyat"],
        ["Toner", "120 TL"],
    ]
    assert html.count("data-signature") == 1 and "Satış" in html  # the personal one
    text = message.get_body(("plain",)).get_content()
    assert "Hello Can" in text and "Toner" in text


def test_pasted_image_leaves_as_an_inline_cid_part_and_dropped_file_as_attachment(
    page, app_url, login_as, desk, smtp_server, celery_worker, screenshot
):
    agent, personal, _support = desk
    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    page.get_by_label("From").select_option(str(personal.pk))
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("Screenshot")
    editor = page.get_by_test_id("compose-editor")
    editor.locator("p").first.click()
    page.keyboard.type("Look: ")
    png = list(PNG)
    editor.evaluate(
        """(area, bytes) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "shot.png", {type: "image/png"}));
            area.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                            cancelable: true}));
        }""",
        png,
    )
    expect(editor.locator("img[src^='data:image/png']")).to_have_count(1)
    editor.evaluate(
        """(area) => {
            const data = new DataTransfer();
            data.items.add(new File(["%PDF-1.4 teklif"], "Teklif ığüş.pdf",
                                    {type: "application/pdf"}));
            area.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                      cancelable: true}));
        }"""
    )
    files = page.get_by_label("Attach files")
    assert files.evaluate("input => Array.from(input.files).map(f => f.name)") == [
        "Teklif ığüş.pdf"
    ]
    expect(editor.locator("img")).to_have_count(1)  # the dropped file is not in the text
    screenshot("editor-pasted-image")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html_part, image = list(related.iter_parts())
    [cid] = re.findall(r'<img src="cid:([^"]+)"', html_part.get_content())
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content_type() == "image/png" and image.get_content() == PNG
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Teklif ığüş.pdf"
    assert attachment.get_content() == b"%PDF-1.4 teklif"


def test_switching_from_switches_the_signature_and_it_appears_once(
    page, app_url, login_as, desk, smtp_server, celery_worker, screenshot
):
    agent, personal, support = desk
    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    editor = page.get_by_test_id("compose-editor")
    from_select = page.get_by_label("From")
    from_select.select_option(str(personal.pk))
    expect(editor.locator("[data-signature]")).to_have_count(1)
    expect(editor.locator("[data-signature]")).to_have_text("Ayşe Yılmaz — Satış")
    editor.locator("p").first.click()
    page.keyboard.type("Your order shipped.")
    from_select.select_option(str(support.pk))
    expect(editor.locator("[data-signature]")).to_have_count(1)
    expect(editor.locator("[data-signature]")).to_have_text("Destek Ekibi · 0212 555 00 00")
    from_select.select_option(str(personal.pk))
    from_select.select_option(str(support.pk))
    expect(editor.locator("[data-signature]")).to_have_count(1)
    expect(editor).to_contain_text("Your order shipped.")
    screenshot("editor-group-signature-en")
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("Shipped")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    assert message["From"].addresses[0].addr_spec == "destek@postaci.example"
    html = message.get_body(("html",)).get_content()
    assert html.count("Destek Ekibi") == 1 and html.count("data-signature") == 1
    assert "Satış" not in html
    assert html.index("Your order shipped.") < html.index("Destek Ekibi")

    # the editor speaks Turkish (Jodit's own language pack, and our labels)
    agent.language = "tr"
    agent.save(update_fields=["language"])
    page.goto(app_url("/emails/compose/"))
    expect(page.get_by_test_id("plain-text-toggle")).to_have_text("Düz metin")
    expect(page.locator(".jodit-toolbar-button_bold button")).to_have_attribute(
        "aria-label", "Kalın"
    )
    page.get_by_label("Kimden").select_option(str(support.pk))
    page.get_by_test_id("compose-editor").locator("p").first.click()
    page.keyboard.type("Siparişiniz kargoya verildi.")
    screenshot("editor-compose-tr")


def test_a_click_in_the_empty_space_below_writes_above_the_signature(
    page, app_url, login_as, desk, smtp_server, celery_worker
):
    """Where a person clicks in a new email: the empty area under the signature. The text
    goes above the signature, survives a change of From, and is sent before it."""
    agent, personal, support = desk
    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    from_select = page.get_by_label("From")
    from_select.select_option(str(support.pk))
    editor = page.get_by_test_id("compose-editor")
    expect(editor.locator("[data-signature]")).to_have_count(1)
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 20)
    page.keyboard.type("Your invoice is attached.")
    expect(editor.locator("[data-signature]")).to_have_text("Destek Ekibi · 0212 555 00 00")
    from_select.select_option(str(personal.pk))
    from_select.select_option(str(support.pk))
    expect(editor).to_contain_text("Your invoice is attached.")
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("Invoice")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    html = message.get_body(("html",)).get_content()
    assert html.index("Your invoice is attached.") < html.index("Destek Ekibi")
    signature = html[html.index("data-signature") :]
    assert "Your invoice" not in signature
    text = message.get_body(("plain",)).get_content()
    assert "Destek Ekibi · 0212 555 00 00Your" not in text
    assert text.index("Your invoice is attached.") < text.index("Destek Ekibi")


def test_plain_text_mode_sends_text_plain(
    page, app_url, login_as, desk, smtp_server, celery_worker
):
    agent, personal, support = desk
    login_as(agent)
    page.goto(app_url("/emails/compose/"))
    page.get_by_label("From").select_option(str(personal.pk))
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("Plain")
    page.get_by_test_id("compose-editor").locator("p").first.click()
    page.keyboard.type("Only words here.")
    page.get_by_test_id("plain-text-toggle").click()
    textarea = page.locator("textarea[name=body]")
    expect(textarea).to_be_visible()
    expect(page.get_by_test_id("compose-editor")).to_be_hidden()
    assert textarea.input_value().startswith("Only words here.\n\n-- \nAyşe Yılmaz — Satış")
    # switching the From in plain text switches the text signature too, and back
    page.get_by_label("From").select_option(str(support.pk))
    assert textarea.input_value() == "Only words here.\n\n-- \nDestek Ekibi · 0212 555 00 00"
    page.get_by_label("From").select_option(str(personal.pk))
    assert textarea.input_value() == "Only words here.\n\n-- \nAyşe Yılmaz — Satış"
    textarea.press("End")
    textarea.press("Control+End")
    page.keyboard.type("\nPS: *no* HTML")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    assert message.get_content_type() == "text/plain"
    text = message.get_content()
    assert "Only words here." in text and "PS: *no* HTML" in text and "-- \r\nAyşe" in text


def test_signature_settings_in_preferences_and_account_form(
    page, app_url, login_as, desk, make_user, screenshot
):
    agent, _personal, support = desk
    login_as(agent)
    page.goto(app_url("/preferences/"))
    editor = page.get_by_test_id("user-signature")
    expect(editor).to_contain_text("Ayşe Yılmaz — Satış")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+i")
    page.keyboard.type("Bölge Müdürü")
    screenshot("signature-preferences-en")
    page.locator("#signature").get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    html = UserSignature.objects.get(user=agent).html
    assert "<em>Bölge Müdürü</em>" in html and "Satış" in html

    agent.language = "tr"
    agent.save(update_fields=["language"])
    page.goto(app_url("/preferences/"))
    expect(page.get_by_role("heading", name="E-posta imzası")).to_be_visible()
    screenshot("signature-preferences-tr")

    admin = make_user("root", admin=True, language="tr")
    page.context.clear_cookies()
    login_as(admin)
    page.goto(app_url(f"/emails/group-accounts/{support.pk}/edit/"))
    expect(page.get_by_test_id("account-signature")).to_contain_text("Destek Ekibi")
    expect(page.get_by_role("heading", name="İmza")).to_be_visible()
    expect(page.get_by_label("Otomatik yanıtlara imzayı ekle")).not_to_be_checked()
    screenshot("signature-account-tr")


def test_template_by_colons_goes_above_the_signature_and_the_quote_of_a_reply(
    page, app_url, login_as, desk, smtp_server, celery_worker, screenshot
):
    agent, _personal, support = desk
    addresses = addresses_get_or_create(["can@customer.example", support.email_address])
    original = Email.objects.create(
        message_id="<in-1@customer.example>",
        subject="Toner",
        from_address=addresses["can@customer.example"],
        from_name="Can Öz",
        body_text="Is the toner on its way?",
        date_sent=timezone.now(),
    )
    EmailRecipient.objects.create(
        email=original, address=addresses[support.email_address], kind="to"
    )
    EmailUser.objects.create(email=original, user=agent)
    EmailTemplate.objects.create(
        owner=agent,
        name="Toner shipped",
        body_html="<p>The toner left today.</p>",
        visibility=EmailTemplate.Visibility.PRIVATE,
    )
    login_as(agent)
    page.goto(app_url(f"/emails/{original.pk}/reply/"))
    editor = page.get_by_test_id("compose-editor")
    expect(editor.locator("[data-signature]")).to_have_text("Destek Ekibi · 0212 555 00 00")
    editor.locator("p").first.click()
    page.keyboard.type("::ton")
    expect(page.get_by_test_id("template-popup").get_by_role("option")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(editor).to_contain_text("The toner left today.")
    screenshot("editor-reply-en")
    page.get_by_test_id("compose-send").click()
    page.wait_for_load_state()

    message = _sent(smtp_server)
    html = message.get_body(("html",)).get_content()
    assert "::" not in html and html.count("data-signature") == 1
    assert html.index("The toner left today.") < html.index("Destek Ekibi")
    assert html.index("Destek Ekibi") < html.index("<blockquote>")
    assert html.index("<blockquote>") < html.index("Is the toner on its way?")


def test_without_javascript_the_textarea_sends_plain_text(
    browser, app_url, desk, smtp_server, celery_worker
):
    agent, personal, _support = desk
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(app_url("/login/"))
    page.fill("input[name=username]", agent.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(app_url("/emails/compose/"))
    page.get_by_label("From").select_option(str(personal.pk))
    page.get_by_label("To", exact=True).fill("can@customer.example")
    page.get_by_label("Subject").fill("No script")
    body = page.get_by_label("Message")
    assert body.input_value() == "\n\n-- \nAyşe Yılmaz — Satış"
    body.fill("Typed without the editor.\n" + body.input_value())
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    context.close()

    message = _sent(smtp_server)
    assert message.get_content_type() == "text/plain"
    assert message.get_content().startswith("Typed without the editor.\r\n")
