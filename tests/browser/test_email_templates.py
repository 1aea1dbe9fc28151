"""Email templates in a real browser: an agent types "::" and a few letters in a case's reply
box, picks a template of their team, and the email that leaves through aiosmtpd carries it
with the placeholders filled from the case's contact."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.models import Case
from crm.addresses import record_set_addresses
from crm.models import Account, Contact, Team, TeamMembership
from mailboxes.models import GroupEmailAccount
from mailtemplates.models import EmailTemplate
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

CUSTOMER = "ayse@customer.example"


@pytest.fixture
def desk(make_user, mail_relay):
    """A team with an agent, its mailbox (sending through aiosmtpd) and a case of a contact."""
    team = Team.objects.create(name="Destek")
    agent = make_user("zeynep", first_name="Zeynep", last_name="Kaya", roles=[role("team")])
    TeamMembership.objects.create(team=team, user=agent)
    support = GroupEmailAccount.objects.create(
        name="Destek",
        email_address="destek@postaci.example",
        from_name="Destek Ekibi",
        smtp_is_shared=True,
        **smtp_fields(mail_relay),
    )
    support.teams.set([team])
    account = Account.objects.create(name="Yılmaz Tekstil")
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz", account=account)
    record_set_addresses(contact, [CUSTOMER])
    case = Case.objects.create(
        name="Yazıcı boş sayfa basıyor",
        group_account=support,
        contact=contact,
        account=account,
        assigned_user=agent,
    )
    for name, category, body in [
        (
            "Printer reset",
            "Printers",
            "<p>Dear {{contact.first_name}} {{contact.last_name}},</p>"
            "<p>about case #{{case.number}} of {{account.name}}: please switch the printer "
            "off and on.</p><p>{{user.name}}, {{mailbox.name}}</p>",
        ),
        ("Refund done", "Billing", "<p>Your refund is on its way.</p>"),
    ]:
        template = EmailTemplate.objects.create(
            owner=agent,
            name=name,
            category=category,
            subject=f"{name} ({{{{case.number}}}})",
            body_html=body,
            visibility=EmailTemplate.Visibility.TEAMS,
        )
        template.teams.set([team])
    return agent, case


def test_agent_inserts_a_template_with_colons_into_a_case_reply(
    page, app_url, login_as, desk, mail_relay, celery_worker, screenshot
):
    agent, case = desk
    login_as(agent)
    # a third template written in the form, its placeholder added with a click
    page.goto(app_url("/email-templates/new/"))
    page.get_by_label("Name").fill("Printer toner")
    page.get_by_label("Category").fill("Printers")
    page.get_by_label("Who may use it").select_option("teams")
    page.get_by_label("Destek").check()
    page.get_by_test_id("compose-editor").click()
    page.keyboard.type("Toner ordered. ")
    page.get_by_test_id("placeholder-picker").get_by_role("button", name="case.assignee").click()
    expect(page.get_by_test_id("compose-editor")).to_have_text("Toner ordered. {{case.assignee}}")
    screenshot("template-form-en")
    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("template-table")).to_contain_text("Printer toner")
    toner = EmailTemplate.objects.get(name="Printer toner")
    assert toner.body_html.replace("&nbsp;", " ") == "<p>Toner ordered. {{case.assignee}}</p>"
    assert list(toner.teams.values_list("name", flat=True)) == ["Destek"]
    screenshot("template-list-en")

    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    subject = box.get_by_label("Subject").input_value()
    editor = box.get_by_test_id("compose-editor")
    editor.click()
    page.keyboard.type("::prin")
    popup = box.get_by_test_id("template-popup")
    expect(popup).to_be_visible()
    expect(popup.get_by_role("option")).to_have_count(2)  # "Refund done" is not a printer
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    screenshot("template-picker-en")
    expect(popup.get_by_role("option").first).to_contain_text("Printer reset")
    page.keyboard.press("Enter")

    expect(editor).to_contain_text("Dear Ayşe Yılmaz,")
    expect(popup).to_be_hidden()
    assert "::" not in editor.inner_text()
    expect(editor).to_contain_text(f"about case #{case.number} of Yılmaz Tekstil")
    expect(box.get_by_test_id("template-notice")).to_be_hidden()
    assert box.get_by_label("Subject").input_value() == subject  # it had one: kept
    page.keyboard.press("Enter")
    page.keyboard.type("Thanks!")
    box.get_by_test_id("reply-send").click()
    page.wait_for_url(app_url(case.get_absolute_url()))

    captured = wait_until(lambda: list(mail_relay.messages), 15.0, interval=0.1)
    assert captured, "the reply did not leave"
    sent = captured[0].message
    assert captured[0].rcpt_tos == [CUSTOMER]
    text = sent.get_body(("plain",)).get_content()
    assert "Dear Ayşe Yılmaz," in text
    assert f"about case #{case.number} of Yılmaz Tekstil" in text
    assert "Zeynep Kaya, Destek Ekibi\r\n" in text
    assert text.index("Dear Ayşe") < text.index("Thanks!")
    assert "{{" not in text and "::" not in text
    html = sent.get_body(("html",)).get_content()
    assert "<p>Dear Ayşe Yılmaz,</p>" in html

    # the same screens in Turkish; the case has nobody assigned now, and the picker says so
    agent.language = "tr"
    agent.save(update_fields=["language"])
    Case.objects.filter(pk=case.pk).update(assigned_user=None)
    page.goto(app_url("/email-templates/"))
    expect(page.get_by_role("heading", name="E-posta şablonları")).to_be_visible()
    screenshot("template-list-tr")
    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    box.get_by_test_id("template-insert").click()
    expect(box.get_by_placeholder("Şablonlarda ara")).to_be_focused()
    page.keyboard.type("toner")
    expect(box.get_by_test_id("template-popup").get_by_role("option")).to_have_count(1)
    screenshot("template-picker-tr")
    page.keyboard.press("Enter")
    expect(box.get_by_test_id("compose-editor")).to_contain_text("Toner ordered.")
    expect(box.get_by_test_id("template-notice")).to_have_text(
        "Boş kaldı (bu e-postada değeri yok): Vakanın atandığı kişi"
    )
    screenshot("template-inserted-tr")
