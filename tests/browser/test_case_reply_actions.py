"""Reply faster, the acceptance path in a real browser: on a case whose contact has a first
name, an agent types "::" and a few letters in the reply box, picks a template, the
placeholders are filled from the case's contact and its file joins the draft, and "Send and
set Pending" makes aiosmtpd receive the answer (From the group address, threaded to the
customer's email, the case number in the subject) and leaves the case Pending with one stream
entry."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from cases.models import Case
from crm.addresses import addresses_get_or_create, record_set_addresses
from crm.models import Contact, Note, Team, TeamMembership
from mailboxes.models import Email, EmailUser, GroupEmailAccount
from mailtemplates.attachments import template_attachments_add
from mailtemplates.models import EmailTemplate
from tests.browser.conftest import SCREENSHOT_DIR
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

CUSTOMER = "ayse@customer.example"
CUSTOMER_MESSAGE_ID = "<printer-1@customer.example>"
RESET_STEPS = b"1. Off. 2. Wait ten seconds. 3. On.\n"


@pytest.fixture
def desk(make_user, smtp_server):
    """An agent of a support team, its mailbox sending through aiosmtpd, a case of a contact
    with the customer's first email, and a template of the team."""
    team = Team.objects.create(name="Destek")
    agent = make_user("zeynep", first_name="Zeynep", last_name="Kaya", roles=[role("team")])
    TeamMembership.objects.create(team=team, user=agent)
    support = GroupEmailAccount.objects.create(
        name="Destek",
        email_address="destek@postaci.example",
        from_name="Destek Ekibi",
        smtp_is_shared=True,
        signature_html="<p>Destek Ekibi · Postacı A.Ş.</p>",
        **smtp_fields(smtp_server),
    )
    support.teams.set([team])
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz")
    record_set_addresses(contact, [CUSTOMER])
    case = Case.objects.create(
        name="Printer prints blank pages",
        group_account=support,
        contact=contact,
        assigned_user=agent,
        status=Case.Status.ASSIGNED,
    )
    rows = addresses_get_or_create([CUSTOMER])
    first = Email.objects.create(
        message_id=CUSTOMER_MESSAGE_ID,
        subject=f"[#{case.number}] Printer prints blank pages",
        from_address=rows[CUSTOMER],
        from_name="Ayşe Yılmaz",
        body_text="It prints blank pages.",
        parent_type=ContentType.objects.get_for_model(Case),
        parent_id=case.pk,
    )
    first.teams.set([team])
    EmailUser.objects.create(email=first, user=agent)
    template = EmailTemplate.objects.create(
        owner=agent,
        name="Printer reset",
        category="Printers",
        body_html="<p>Hello {{contact.first_name}},</p><p>please switch the printer off and "
        "on again. We keep case {{case.number}} open until we hear from you.</p>",
        visibility=EmailTemplate.Visibility.TEAMS,
    )
    template.teams.set([team])
    template_attachments_add(
        template, [SimpleUploadedFile("reset-steps.txt", RESET_STEPS, content_type="text/plain")]
    )
    return agent, case, support


def shot(locator, name: str) -> None:
    """A PNG of one part of the page, beside the full-page ones of ``screenshot``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page = locator.page
    page.evaluate("window.scrollTo(0, 0)")  # page coordinates, under no sticky bar
    area = locator.bounding_box()
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True, clip=area)


def test_agent_answers_a_case_with_a_template_and_sets_it_pending_in_one_click(
    page, app_url, login_as, desk, smtp_server, celery_worker
):
    agent, case, support = desk
    login_as(agent)
    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    editor = box.get_by_test_id("compose-editor")
    editor.locator("p").first.click()  # the empty line the box starts with, above the signature
    page.keyboard.type("::prin")
    popup = box.get_by_test_id("template-popup")
    expect(popup.get_by_role("option")).to_have_count(1)
    shot(box, "reply-picker-en")
    page.keyboard.press("Enter")
    expect(editor).to_contain_text("Hello Ayşe,")
    expect(editor).to_contain_text(f"We keep case {case.number} open")
    files = box.get_by_test_id("template-files")
    expect(files.get_by_label("reset-steps.txt")).to_be_checked()
    shot(box, "reply-actions-en")

    box.get_by_test_id("reply-send-pending").click()
    page.wait_for_url(app_url(case.get_absolute_url()))

    captured = wait_until(lambda: smtp_server.messages, 15.0, interval=0.1)
    assert captured, "the reply did not leave"
    [sent] = captured
    message = sent.message
    assert sent.rcpt_tos == [CUSTOMER]
    assert message["From"].addresses[0].addr_spec == support.email_address
    assert message["From"].addresses[0].display_name == "Destek Ekibi"
    assert message["In-Reply-To"] == CUSTOMER_MESSAGE_ID
    assert CUSTOMER_MESSAGE_ID in message["References"]
    assert f"[#{case.number}]" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Hello Ayşe," in text and "{{" not in text and "::" not in text
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "reset-steps.txt"
    assert attached.get_content().encode() == RESET_STEPS
    # The group account's signature, once, below the template's text and above the quote
    assert text.count("Destek Ekibi · Postacı A.Ş.") == 1
    assert text.index("Hello Ayşe,") < text.index("Destek Ekibi · Postacı A.Ş.")
    html = message.get_body(("html",)).get_content()
    assert html.count("Destek Ekibi · Postacı A.Ş.") == 1

    def pending():
        case.refresh_from_db()
        return case.status == Case.Status.PENDING

    assert wait_until(pending, 10.0), case.status
    entries = Note.objects.filter(parent_type__model="case", parent_id=case.pk)
    assert list(entries.values_list("type", flat=True)) == [Note.Type.EMAIL_SENT]
    page.reload()
    stream = page.get_by_test_id("stream-notes")
    expect(stream).to_contain_text("Zeynep Kaya sent an email and set the status to Pending")
    expect(page.locator("#stream-panel .note")).to_have_count(1)


def test_reply_box_buttons_and_picker_in_turkish(page, app_url, login_as, desk, screenshot):
    agent, case, _support = desk
    login_as(agent)
    page.goto(app_url("/email-templates/"))
    expect(page.get_by_test_id("template-table")).to_contain_text("Printer reset")
    screenshot("i16a-template-list-en")
    agent.language = "tr"
    agent.save(update_fields=["language"])
    page.goto(app_url("/email-templates/"))
    expect(page.get_by_role("heading", name="E-posta şablonları")).to_be_visible()
    screenshot("i16a-template-list-tr")
    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    expect(box.get_by_test_id("reply-send-pending")).to_have_text(
        "Gönder ve Bekliyor olarak işaretle"
    )
    expect(box.get_by_test_id("reply-send-closed")).to_have_text("Gönder ve kapat")
    expect(box.get_by_test_id("reply-assignee")).to_have_value(str(agent.pk))
    box.get_by_test_id("template-insert").click()
    expect(box.get_by_test_id("template-popup").get_by_role("option")).to_have_count(1)
    shot(box, "reply-picker-tr")
    page.keyboard.press("Enter")
    expect(box.get_by_test_id("compose-editor")).to_contain_text("Hello Ayşe,")
    expect(box.get_by_test_id("template-files")).to_contain_text("Şablondaki dosyalar")
    shot(box, "reply-actions-tr")
