"""The placeholder renderer: the allow-listed values of a draft, and what a template can never
do with them (template-injection payloads)."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest
from django.utils import translation

from crm.models import Contact, Lead
from mailboxes.sending.permissions import sending_identity_for
from mailtemplates.models import EmailTemplate
from mailtemplates.placeholders import PLACEHOLDERS, placeholder_values, template_render

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 5)


def render(body: str = "", subject: str = "", **values):
    """``body``/``subject`` rendered with every placeholder empty except ``values``."""
    filled = dict.fromkeys(PLACEHOLDERS, "") | {k.replace("__", "."): v for k, v in values.items()}
    return template_render(EmailTemplate(subject=subject, body_html=body), filled)


def tags_and_attributes(html: str) -> list[tuple[str, list[str]]]:
    """The elements of ``html`` and their attribute names, as a browser would parse them."""
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, [name for name, _value in attrs]))

    Parser().feed(html)
    return found


def test_a_case_fills_its_own_contact_account_user_and_mailbox(case, alice, mailbox):
    values = placeholder_values(
        user=alice,
        parent=case,
        mailbox=sending_identity_for(alice, mailbox.pk),
        today=TODAY,
    )
    assert values["case.number"] == str(case.number)
    assert values["case.subject"] == "Printer broken"
    assert values["case.status"] == "New"
    assert values["case.assignee"] == "Alice Kaya"
    assert values["contact.first_name"] == "Ayşe"
    assert values["contact.last_name"] == "Yılmaz"
    assert values["contact.name"] == "Ayşe Yılmaz"
    assert values["account.name"] == "Acme Ltd"
    assert values["user.name"] == "Alice Kaya"
    assert values["mailbox.name"] == "Acme Support"
    assert values["mailbox.address"] == "support@acme.test"
    assert values["today"] == "Dec. 5, 2026"


def test_salutation_and_the_senders_title_and_phone(case, alice):
    case.contact.salutation = "mrs"
    case.contact.save()
    alice.title, alice.phone = "Support engineer", "+90 212 555 01 01"
    alice.save()
    values = placeholder_values(user=alice, parent=case, today=TODAY)
    assert values["contact.salutation"] == "Mrs."
    assert (values["user.title"], values["user.phone"]) == ("Support engineer", "+90 212 555 01 01")
    with translation.override("tr"):
        assert placeholder_values(user=alice, parent=case)["contact.salutation"] == "Bayan"
    lead = Lead.objects.create(salutation="dr", first_name="Deniz", last_name="Ak")
    assert placeholder_values(user=alice, parent=lead)["contact.salutation"] == "Dr."
    no_salutation = Contact.objects.create(first_name="Can", last_name="Er")
    rendered = template_render(
        EmailTemplate(body_html="<p>Dear {{contact.salutation}} {{contact.last_name}}</p>"),
        placeholder_values(user=alice, parent=no_salutation),
    )
    assert rendered.html == "<p>Dear  Er</p>" and rendered.empty == ["contact.salutation"]


def test_today_is_written_in_the_readers_language(alice):
    with translation.override("tr"):
        assert placeholder_values(user=alice, today=TODAY)["today"] == "05 Aralık 2026"


def test_a_lead_is_the_contact_and_its_company_the_account(alice):
    lead = Lead.objects.create(first_name="Deniz", last_name="Ak", account_name="Ak Tekstil")
    values = placeholder_values(user=alice, parent=lead, today=TODAY)
    assert (values["contact.first_name"], values["account.name"]) == ("Deniz", "Ak Tekstil")
    assert values["case.number"] == ""


def test_a_case_without_contact_uses_its_lead(case, alice):
    case.contact = None
    case.lead = Lead.objects.create(first_name="Deniz", last_name="Ak")
    case.save()
    assert placeholder_values(user=alice, parent=case)["contact.first_name"] == "Deniz"


def test_placeholders_are_filled_in_subject_and_body_and_the_empty_ones_are_named():
    rendered = render(
        body="<p>Dear {{contact.first_name}} {{ contact.last_name }},</p><p>{{case.assignee}}</p>",
        subject="About case {{case.number}}",
        contact__first_name="Ayşe",
        case__number="42",
    )
    assert rendered.subject == "About case 42"
    assert rendered.html == "<p>Dear Ayşe ,</p><p></p>"
    assert rendered.empty == ["contact.last_name", "case.assignee"]
    assert rendered.unknown == []


def test_a_contact_without_a_case_leaves_the_case_placeholders_empty(alice):
    contact = Contact.objects.create(first_name="Can", last_name="Er")
    values = placeholder_values(user=alice, parent=contact)
    rendered = template_render(
        EmailTemplate(body_html="<p>Hi {{contact.first_name}}, case {{case.number}}</p>"), values
    )
    assert rendered.html == "<p>Hi Can, case </p>"
    assert rendered.empty == ["case.number"]


@pytest.mark.parametrize(
    "payload",
    [
        "{{case.__class__}}",
        "{{ user.password }}",
        "{{contact.account.assigned_user.password}}",
        "{{case.__class__.__mro__}}",
        "{{user.get_full_name()}}",
        "{{ user.set_password('x') }}",
        "{{settings.SECRET_KEY}}",
        "{{case.number|safe}}",
        "{{__import__('os')}}",
        "{{ request.user }}",
        "{{contact.get_salutation_display}}",
        "{{contact.salutation.__class__}}",
        "{{user.phone.upper()}}",
        "{{user.title|upper}}",
        "{{}}",
    ],
)
def test_names_outside_the_allow_list_render_nothing(payload, case, alice):
    values = placeholder_values(user=alice, parent=case)
    rendered = template_render(
        EmailTemplate(subject=payload, body_html=f"<p>a{payload}b</p>"), values
    )
    assert rendered.html == "<p>ab</p>"
    assert rendered.subject == ""
    assert rendered.unknown == [payload[2:-2].strip()]
    assert "pbkdf2" not in rendered.html and "md5" not in rendered.html


@pytest.mark.parametrize(
    "payload",
    ["{% load static %}", "{% debug %}", "${user.password}", "#{7*7}", "<%= 7*7 %>", "{user.name}"],
)
def test_other_template_languages_are_plain_text(payload):
    rendered = render(body=f"<p>{payload}</p>", subject=payload, user__name="Alice")
    assert rendered.subject == payload
    assert rendered.html.replace("&lt;", "<").replace("&gt;", ">") == f"<p>{payload}</p>"
    assert "Alice" not in rendered.html


def test_nested_braces_render_once_and_never_again():
    rendered = render(body="<p>{{ {{contact.first_name}} }}</p>", contact__first_name="user.name")
    assert rendered.html == "<p>{{ user.name }}</p>"


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again():
    rendered = render(
        body="<p>{{contact.first_name}}</p>",
        subject="{{contact.first_name}}",
        contact__first_name="{{user.email}}",
        user__email="alice@acme.test",
    )
    assert rendered.html == "<p>{{user.email}}</p>"
    assert rendered.subject == "{{user.email}}"


def test_html_and_script_in_values_are_escaped_into_the_body(alice):
    contact = Contact.objects.create(
        first_name='<script>alert(1)</script><img src=x onerror="alert(2)">',
        last_name='x" onmouseover="alert(3)',
    )
    values = placeholder_values(user=alice, parent=contact)
    rendered = template_render(
        EmailTemplate(
            body_html='<p>Hi {{contact.first_name}}</p><a href="https://acme.test/{{contact.last_name}}">x</a>'
        ),
        values,
    )
    assert "<script" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;img src=x" in rendered.html
    assert tags_and_attributes(rendered.html) == [
        ("p", []),
        ("a", ["href", "rel"]),
    ]


def test_a_value_cannot_break_the_subject_into_headers():
    rendered = render(subject="Re {{contact.name}}", contact__name="Ayşe\r\nBcc: x@evil.test")
    assert rendered.subject == "Re Ayşe Bcc: x@evil.test"


def test_the_stored_body_is_sanitized(alice):
    template = EmailTemplate.objects.create(
        owner=alice,
        name="x",
        body_html='<p onclick="x()">Hi {{contact.first_name}}</p><script>alert(1)</script>',
    )
    template.refresh_from_db()
    assert template.body_html == "<p>Hi {{contact.first_name}}</p>"
