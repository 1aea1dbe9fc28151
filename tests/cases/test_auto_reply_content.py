"""What an auto-reply says: placeholders, defaults, From and Reply-To, header safety."""

from __future__ import annotations

import pytest
from django.utils import translation

from cases.auto_reply import (
    PLACEHOLDERS,
    auto_reply_content,
    auto_reply_headers,
    auto_reply_values,
    render_template,
)
from cases.forms import GroupAccountCasesForm
from cases.models import Case
from crm.models import Account, Contact
from mailboxes.models import Email
from mailboxes.sending.compose import Mailbox

AUTO_REPLY_SUBJECT_HELP = GroupAccountCasesForm.Meta.help_texts["auto_reply_subject"]
AUTO_REPLY_BODY_HELP = GroupAccountCasesForm.Meta.help_texts["auto_reply_body"]

CUSTOMER = Mailbox(address="ayse@customer.example", name="Ayşe Y.")


@pytest.fixture
def account(make_account):
    return make_account(name="Support", from_name="Destek")


@pytest.fixture
def case(account, agents):
    acme = Account.objects.create(name="ACME")
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz", account=acme)
    return Case.objects.create(
        name="Printer", group_account=account, contact=contact, account=acme,
        assigned_user=agents[1],
    )  # fmt: skip


@pytest.fixture
def email(db):
    return Email.objects.create(message_id="<m@customer>", subject="Printer")


def test_render_replaces_known_placeholders_and_keeps_everything_else():
    values = {"case_number": "[#7]", "customer_name": "Ayşe"}
    template = "Hi {customer_name}, {case_number} {nope} {0} { case_number } {{x}} 100%"
    expected = "Hi Ayşe, [#7] {nope} {0} { case_number } {{x}} 100%"
    assert render_template(template, values) == expected


def test_every_placeholder_has_a_value_and_is_documented(account, case, email):
    values = auto_reply_values(account=account, email=email, case=case, to=CUSTOMER)
    assert set(values) == set(PLACEHOLDERS)
    assert values == {
        "case_number": case.display_number,
        "case_subject": "Printer",
        "customer_name": "Ayşe Yılmaz",
        "customer_email": "ayse@customer.example",
        "account_name": "ACME",
        "mailbox_name": "Destek",
        "email_subject": "Printer",
        "assigned_user": "berna",
    }
    for name in PLACEHOLDERS:
        assert f"{{{name}}}" in str(AUTO_REPLY_BODY_HELP)
    assert "{case_number}" in str(AUTO_REPLY_SUBJECT_HELP)


def test_defaults_acknowledge_with_the_case_number_in_the_site_language(
    account, case, email, settings
):
    content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert content.subject == f"Re: {case.display_number} Printer"
    assert content.body.startswith("Hello Ayşe Yılmaz,")
    assert case.display_number in content.body and "Destek" in content.body
    assert content.sender == Mailbox(address=account.email_address, name="Destek")
    assert content.reply_to == []

    settings.LANGUAGE_CODE = "tr"
    with translation.override("en"):  # the request's language does not matter
        content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert content.body.startswith("Merhaba Ayşe Yılmaz,")


def test_without_a_case_no_tag_and_the_sender_name_is_used(account, email):
    content = auto_reply_content(account=account, email=email, case=None, to=CUSTOMER)
    assert content.subject == "Re: Printer"
    assert "[#" not in content.body
    assert content.body.startswith("Hello Ayşe Y.,")


def test_line_breaks_in_values_never_reach_a_header(account, case, email):
    email.subject = "Printer\r\nBcc: victim@example.com"
    account.auto_reply_subject = "{email_subject}"
    content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert "\n" not in content.subject and "\r" not in content.subject
    assert content.subject == f"{case.display_number} Printer Bcc: victim@example.com"


def test_a_no_reply_from_still_sends_answers_to_the_mailbox(account, case, email):
    account.auto_reply_from_address = "no-reply@postaci.example"
    content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert content.sender.address == "no-reply@postaci.example"
    assert [m.address for m in content.reply_to] == [account.email_address]


def test_headers_mark_the_auto_reply(account):
    assert auto_reply_headers(account) == {
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "Precedence": "auto_reply",
        "X-Loop": account.email_address,
    }


def test_signature_goes_on_an_auto_reply_only_when_the_account_says_so(account, case, email):
    account.signature_html = "<p><b>Destek Ekibi</b></p>"
    account.save()
    content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert content.body_html == "" and "Destek Ekibi" not in content.body
    account.auto_reply_signature = True
    account.save()
    account.refresh_from_db()
    content = auto_reply_content(account=account, email=email, case=case, to=CUSTOMER)
    assert content.body_html.count('<div data-signature="1">') == 1
    assert content.body_html.endswith('<div data-signature="1"><p><b>Destek Ekibi</b></p></div>')
    assert content.body_html.startswith("<p>Hello Ayşe Yılmaz,</p>")
