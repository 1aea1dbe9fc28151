"""Cases in a real browser, with real mail: customer mail arrives over SMTP into Dovecot, the
fetch opens a case, the agent works it in Chromium, and the reply leaves through aiosmtpd."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseDistribution
from crm.models import Team, TeamMembership
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email
from tests.cases.mailflow import smtp_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

CUSTOMER = "ayse@customer.example"
QUESTION = "Yazıcı boş sayfa basıyor, ne yapmalıyım?"


@pytest.fixture
def desk(make_user, make_group_account, imap_user, mail_relay):
    """A support team with one agent, and its mailbox: create case, direct assignment."""
    team = Team.objects.create(name="Destek")
    agent = make_user("ayse.agent", first_name="Zeynep", last_name="Kaya", roles=[role("team")])
    TeamMembership.objects.create(team=team, user=agent)
    mail_relay.add_mailbox(imap_user)
    support = make_group_account(
        imap_user,
        name="Destek",
        teams=[team],
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.DIRECT,
        assign_to_user=agent,
        smtp_is_shared=True,
        from_name="Destek Ekibi",
        **smtp_fields(mail_relay),
    )
    return agent, support


def customer_mail(relay, support, **fields) -> None:
    raw = make_message(sender=f"Ayşe Yılmaz <{CUSTOMER}>", to=support.email_address, **fields)
    smtp_send(relay, raw, mail_from=CUSTOMER, to=[support.email_address])


def _wait(condition, timeout: float = 15.0):
    value = wait_until(condition, timeout, interval=0.1)
    if not value:
        raise AssertionError("timed out")
    return value


def test_agent_finds_the_new_case_and_the_customers_email(
    page, app_url, login_as, desk, mail_relay, screenshot
):
    agent, support = desk
    customer_mail(mail_relay, support, subject="Yazıcı çalışmıyor", body=QUESTION)
    assert fetch_account(support.pk, notify=True).imported == 1
    case = Case.objects.get()

    login_as(agent)
    page.goto(app_url("/cases/"))
    row = page.locator("tbody tr", has_text="Yazıcı çalışmıyor")
    assert row.locator("td").nth(0).inner_text() == case.display_number
    assert "Zeynep Kaya" in row.inner_text()
    assert row.locator(".badge-assigned").inner_text() == "Assigned"
    screenshot("case-list-new-case")

    row.get_by_role("link", name="Yazıcı çalışmıyor").click()
    page.wait_for_url(app_url(case.get_absolute_url()))
    emails = page.get_by_test_id("case-emails")
    assert "Yazıcı çalışmıyor" in emails.inner_text()
    assert "Ayşe Yılmaz" in emails.inner_text()
    # the stream shows the customer's words (the case's first entry is about their email)
    assert QUESTION in page.locator("#stream-panel").inner_text()
    screenshot("case-page-customer-email")


def test_agent_replies_from_the_case_page_and_the_answer_joins_the_case(
    page, app_url, login_as, desk, mail_relay, dovecot, imap_user, celery_worker, screenshot
):
    agent, support = desk
    customer_mail(
        mail_relay, support, subject="Yazıcı çalışmıyor", message_id="<q1@customer.example>"
    )
    fetch_account(support.pk, notify=True)
    case = Case.objects.get()

    login_as(agent)
    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    assert box.get_by_label("From").input_value() == str(support.pk)
    assert box.get_by_label("To", exact=True).input_value() == f"Ayşe Yılmaz <{CUSTOMER}>"
    assert box.get_by_label("Subject").input_value() == f"Re: [#{case.number}] Yazıcı çalışmıyor"
    box.get_by_test_id("compose-editor").click()
    page.keyboard.type("Yazıcıyı kapatıp açar mısınız? Şimdiden teşekkürler.")
    screenshot("case-reply-box")
    box.get_by_test_id("reply-send").click()
    page.wait_for_url(app_url(case.get_absolute_url()))

    captured = _wait(lambda: [m for m in mail_relay.messages if m.mail_from != CUSTOMER])[0]
    sent = captured.message
    assert captured.rcpt_tos == [CUSTOMER]
    assert sent["From"].addresses[0].addr_spec == support.email_address
    assert sent["From"].addresses[0].display_name == "Destek Ekibi"
    assert sent["Reply-To"].addresses[0].addr_spec == support.email_address
    assert f"[#{case.number}]" in sent["Subject"]
    assert sent["In-Reply-To"] == "<q1@customer.example>"
    assert "kapatıp açar mısınız" in sent.get_body(("plain",)).get_content()
    reply = Email.objects.get(message_id=sent["Message-ID"])
    assert reply.parent == case
    _wait(lambda: Email.objects.filter(pk=reply.pk, status=Email.Status.SENT).exists())

    page.reload()
    assert "sent an email" in page.locator("#stream-panel").inner_text()
    screenshot("case-reply-sent")

    # the customer answers the reply; it comes back to the group mailbox
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(
            sender=f"Ayşe Yılmaz <{CUSTOMER}>",
            to=support.email_address,
            subject=f"Re: {sent['Subject']}",
            body="Kapatıp açtım, düzeldi.",
            headers={
                "In-Reply-To": sent["Message-ID"],
                "References": f"<q1@customer.example> {sent['Message-ID']}",
            },
        ),
    )
    assert fetch_account(support.pk, notify=True).imported == 1
    assert Case.objects.count() == 1
    answer = Email.objects.get(status=Email.Status.IMPORTED, in_reply_to=sent["Message-ID"])
    assert answer.parent == case
    page.reload()
    rows = page.get_by_test_id("case-emails").locator("tbody tr")
    assert rows.count() == 3  # the question, our reply and the answer
    # (the answer's Date header has whole seconds: it may sort just before our reply)
    assert any(f"Re: Re: [#{case.number}]" in rows.nth(i).inner_text() for i in range(3))
