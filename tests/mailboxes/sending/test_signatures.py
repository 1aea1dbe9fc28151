"""Signatures: which one an email gets, once, above the quote, sanitized; the preferences
page and the group account form store them clean; auto-replies only when the account says so."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from cases.models import Case
from cases.replies import case_reply_initial
from crm.addresses import addresses_get_or_create
from mailboxes.models import Email, EmailRecipient, EmailUser, UserSignature
from mailboxes.sending.compose import Mailbox, sanitize_html
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.forms import ComposeForm
from mailboxes.sending.permissions import sending_identities, sending_identity_for
from mailboxes.sending.replies import reply_initial
from mailboxes.sending.send import email_send_automatic
from mailboxes.sending.signatures import (
    signature_clean,
    signature_for,
    signature_insert,
    signature_insert_text,
    signature_marks_once,
)
from tests.mailboxes.sending.conftest import role

pytestmark = pytest.mark.django_db

MINE = "<p>Ayşe Yılmaz<br><i>Satış</i></p>"
TEAM = "<p><b>Destek Ekibi</b> · 0212 555 00 00</p>"


@pytest.fixture
def agent(make_user):
    user = make_user("ayse", first_name="Ayşe", last_name="Yılmaz", roles=[role("all")])
    UserSignature.objects.create(user=user, html=MINE)
    return user


@pytest.fixture
def personal(agent, make_smtp_personal, smtp_server):
    return make_smtp_personal(agent, smtp_server)


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server, from_name="Destek", signature_html=TEAM)


def test_personal_address_gets_the_users_and_a_group_address_its_own(agent, personal, support):
    assert signature_for(agent, sending_identity_for(agent, personal.pk)) == MINE
    assert signature_for(agent, sending_identity_for(agent, support.pk)) == TEAM
    support.signature_html = ""
    support.save()
    # a group account without a signature: the agent still signs
    assert signature_for(agent, sending_identity_for(agent, support.pk)) == MINE
    UserSignature.objects.filter(user=agent).delete()
    assert signature_for(agent, sending_identity_for(agent, support.pk)) == ""


def test_signature_is_sanitized_and_cannot_carry_a_block_of_its_own():
    dirty = (
        '<div data-signature="1" onclick="steal()"><p style="x">Hi<script>alert(1)</script>'
        '</p><img src="javascript:alert(1)"><a href="javascript:x">l</a>'
        '<img src="https://example.com/logo.png" onerror="x"></div>'
    )
    clean = signature_clean(dirty)
    assert "script" not in clean and "onclick" not in clean and "onerror" not in clean
    assert "javascript" not in clean and "style" not in clean
    assert "data-signature" not in clean
    assert '<img src="https://example.com/logo.png">' in clean
    assert signature_clean("<p> <br> </p>") == ""


def test_sanitizer_keeps_the_signature_block_and_cid_images():
    html = '<p>Hi</p><div data-signature="1" data-other="x"><img src="cid:abc@example.test"></div>'
    assert sanitize_html(html) == (
        '<p>Hi</p><div data-signature="1"><img src="cid:abc@example.test"></div>'
    )


def test_signature_goes_above_the_quote_and_never_twice():
    reply = "<p><br></p><p>On Monday, Can wrote:</p><blockquote><p>Hello</p></blockquote>"
    once = signature_insert(reply, TEAM)
    assert once == (
        '<p><br></p><div data-signature="1">' + TEAM + "</div><p>On Monday, Can wrote:</p>"
        "<blockquote><p>Hello</p></blockquote>"
    )
    assert signature_insert(once, MINE) == once
    assert signature_insert("", TEAM) == '<p><br></p><div data-signature="1">' + TEAM + "</div>"
    text = signature_insert_text("\n\nOn Monday, Can wrote:\n> Hello", TEAM)
    assert text == "\n\n-- \nDestek Ekibi · 0212 555 00 00\n\nOn Monday, Can wrote:\n> Hello"
    assert signature_insert_text(text, TEAM) == text


def _incoming(agent, support) -> Email:
    addresses = addresses_get_or_create(["can@customer.example", support.email_address])
    email = Email.objects.create(
        message_id="<in-1@customer.example>",
        subject="Printer",
        from_address=addresses["can@customer.example"],
        body_text="Hello",
    )
    EmailRecipient.objects.create(email=email, address=addresses[support.email_address], kind="to")
    EmailUser.objects.create(email=email, user=agent)
    return email


def test_a_block_split_by_the_editor_keeps_one_mark_and_the_text_after_it():
    html = (
        '<p>Hi</p><div data-signature="1"><p>Destek</p></div><table><tr><td>x</td></tr>'
        '</table><div data-signature="1"><p>more words</p></div>'
    )
    assert signature_marks_once(html) == (
        '<p>Hi</p><div data-signature="1"><p>Destek</p></div><table><tr><td>x</td></tr>'
        "</table><div><p>more words</p></div>"
    )


def test_reply_form_starts_with_the_from_signature_and_lists_each_froms(agent, personal, support):
    original = _incoming(agent, support)
    initial = reply_initial(original, agent, mode="reply")
    assert initial["from_account"] == support.pk  # it was sent to the group address
    form = ComposeForm(user=agent, identities=sending_identities(agent), initial=initial)
    html = form["body_html"].value()
    assert html.count("data-signature") == 1
    assert html.index(TEAM) < html.index("<blockquote>")
    assert "-- \nDestek Ekibi" in form["body"].value()
    signatures = json.loads(form.fields["from_account"].widget.attrs["data-signatures"])
    assert signatures == {str(personal.pk): MINE, str(support.pk): TEAM}
    # a saved draft keeps its own body (its block was switched in the editor)
    draft = Email.objects.create(created_by=agent, status=Email.Status.DRAFT, body_html="<p>x</p>")
    again = ComposeForm(
        user=agent,
        identities=sending_identities(agent),
        draft=draft,
        initial={"from_account": support.pk, "body_html": "<p>x</p>"},
    )
    assert "data-signature" not in again["body_html"].value()


def test_case_reply_box_starts_with_the_group_signature_once(agent, support):
    case = Case.objects.create(name="Printer", group_account=support)
    initial = case_reply_initial(case, agent)
    form = ComposeForm(user=agent, identities=sending_identities(agent), initial=initial)
    html = form["body_html"].value()
    assert html == '<p><br></p><div data-signature="1">' + TEAM + "</div>"


def test_preferences_page_saves_the_users_signature_sanitized(client, agent):
    client.force_login(agent)
    page = client.get(reverse("crm:preferences"))
    assert b'data-testid="user-signature"' in page.content
    response = client.post(
        reverse("crm:preferences"),
        {
            "first_name": "Ayşe",
            "last_name": "Yılmaz",
            "email": "ayse@example.test",
            "language": "en",
            "notification_digest": agent.notification_digest,
            "signature-html": '<p onmouseover="x()">Ayşe<script>1</script></p>',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert UserSignature.objects.get(user=agent).html == "<p>Ayşe</p>"


def test_auto_reply_html_with_signature_arrives_once(support, smtp_server):
    email = email_send_automatic(
        account=support,
        sender=Mailbox(support.email_address, "Destek"),
        to=[Mailbox("can@customer.example")],
        subject="Re: Printer",
        body_text="We got it.\n",
        body_html='<p>We got it.</p><div data-signature="1">' + TEAM + "</div>",
        is_auto_reply=True,
    )
    assert email_deliver(email.pk).status == "sent"
    [captured] = smtp_server.wait_for_messages(1)
    html = captured.message.get_body(("html",)).get_content()
    assert html.count("Destek Ekibi") == 1 and 'data-signature="1"' in html
    text = captured.message.get_body(("plain",)).get_content()
    assert "We got it." in text and "Destek Ekibi" in text
