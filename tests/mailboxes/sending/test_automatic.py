"""``email_send_automatic``: mail Postaci writes by itself (auto-replies) takes the same
at-most-once path as a user's mail, through the account's SMTP, queued after the commit."""

from __future__ import annotations

import pytest

from mailboxes.models import Email, EmailRecipient, OutgoingMessage
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.exceptions import HeaderInjection, SendError
from mailboxes.sending.send import email_send_automatic

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server, from_name="Destek")


def _send(support, **fields):
    values = {
        "account": support,
        "sender": Mailbox(address="no-reply@example.test", name="Destek"),
        "to": [Mailbox(address="ayse@customer.example", name="Ayşe")],
        "subject": "Re: [#7] Yazıcı",
        "body_text": "Aldık.\n",
        "reply_to": [Mailbox(address=support.email_address)],
        "extra_headers": {"Auto-Submitted": "auto-replied", "Precedence": "auto_reply"},
        "is_auto_reply": True,
    }
    values.update(fields)
    return email_send_automatic(**values)


def test_automatic_mail_is_queued_after_the_commit_and_sent_once(
    support, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        email = _send(support)
    assert len(callbacks) == 1 and smtp_server.messages == []
    assert (email.status, email.is_auto_reply, email.created_by) == ("sending", True, None)
    outgoing = OutgoingMessage.objects.get(pk=email.pk)
    assert outgoing.envelope_from == support.email_address  # bounces come back to the mailbox
    assert outgoing.envelope_to == ["ayse@customer.example"]
    assert set(email.recipients.values_list("kind", flat=True)) == {
        EmailRecipient.Kind.TO,
        EmailRecipient.Kind.REPLY_TO,
    }

    assert email_deliver(email.pk).status == "sent"
    assert email_deliver(email.pk).status == "skipped"
    [captured] = smtp_server.wait_for_messages(1)
    message = captured.message
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Precedence"] == "auto_reply"
    assert message["From"].addresses[0].addr_spec == "no-reply@example.test"
    assert message["Reply-To"].addresses[0].addr_spec == support.email_address
    assert message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.sent_by is None


def test_threading_headers_follow_the_answered_email(support, smtp_server):
    original = Email.objects.create(
        message_id="<q2@customer.example>",
        in_reply_to="<q1@customer.example>",
        references="<q0@customer.example> <q1@customer.example>",
    )
    email = _send(support, replied=original)
    email_deliver(email.pk)
    message = smtp_server.wait_for_messages(1)[0].message
    assert message["In-Reply-To"] == "<q2@customer.example>"
    assert message["References"] == (
        "<q0@customer.example> <q1@customer.example> <q2@customer.example>"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Hi\r\nBcc: victim@example.com"},
        {"to": [Mailbox(address="ayse@customer.example", name="A\nBcc: v@example.com")]},
        {"extra_headers": {"X-Loop": "a@example.test\r\nBcc: v@example.com"}},
    ],
)
def test_line_breaks_are_refused_and_nothing_is_stored(support, fields):
    with pytest.raises(HeaderInjection):
        _send(support, **fields)
    assert not Email.objects.exists()


def test_no_recipient_is_refused(support):
    with pytest.raises(SendError):
        _send(support, to=[])
