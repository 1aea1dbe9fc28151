"""Sending through real aiosmtpd servers: headers, encodings, failures, retries, idempotency."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Note
from crm.stream import is_following
from mailboxes.models import Email, EmailRecipient, EmailUser, OutgoingMessage
from mailboxes.sending import delivery
from mailboxes.sending.compose import AttachmentPart, Mailbox
from mailboxes.sending.delivery import email_deliver, sending_recover
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.exceptions import HeaderInjection
from mailboxes.sending.send import email_retry, email_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_user):
    return make_user("agent", first_name="Şule", last_name="Ağaoğlu", roles=[role("all")])


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server, from_name="Müşteri Hizmetleri")


def _send(agent, account, **fields) -> Email:
    data = ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")])
    for name, value in fields.items():
        setattr(data, name, value)
    return email_send(user=agent, data=data)


def test_sent_email_carries_our_headers_and_reaches_the_server(agent, support, smtp_server):
    email = _send(
        agent,
        support,
        to=[Mailbox("customer@example.com", "Ayşe Yılmaz")],
        cc=[Mailbox("boss@example.com")],
        bcc=[Mailbox("audit@example.com")],
        subject="Hello",
        body_text="Plain words.",
    )
    assert email_deliver(email.pk).status == "sent"

    [captured] = smtp_server.wait_for_messages(1)
    message = captured.message
    assert captured.mail_from == support.email_address
    assert sorted(captured.rcpt_tos) == [
        "audit@example.com",
        "boss@example.com",
        "customer@example.com",
    ]
    assert "Bcc" not in message and b"audit@example.com" not in captured.original_content
    assert message["From"].addresses[0].display_name == "Müşteri Hizmetleri"
    assert message["From"].addresses[0].addr_spec == support.email_address
    assert message["To"].addresses[0].display_name == "Ayşe Yılmaz"
    email.refresh_from_db()
    assert message["Message-ID"].strip() == email.message_id
    assert email.message_id.endswith("@postaci.local>")
    assert message["Date"].datetime == email.date_sent.replace(microsecond=0)
    assert message.get_content_type() == "text/plain"
    assert captured.original_content.rstrip(b"\r\n") == bytes(email.outgoing.raw).rstrip(b"\r\n")

    assert (email.status, email.sent_by, str(email.send_error)) == (Email.Status.SENT, agent, "")
    assert EmailUser.objects.get(email=email, user=agent).is_read
    assert list(email.accounts.all()) == [support.mailaccount_ptr]


def test_reply_has_exact_in_reply_to_and_full_references_chain(agent, support, smtp_server):
    original = Email.objects.create(
        message_id="<3@customer.example.com>",
        subject="Re: Order",
        in_reply_to="<2@postaci.local>",
        references="<1@customer.example.com> <2@postaci.local>",
        body_text="Where is my order?",
    )
    EmailUser.objects.create(email=original, user=agent)
    email = _send(agent, support, subject="Re: Order", replied=original)
    email_deliver(email.pk)

    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["In-Reply-To"] == "<3@customer.example.com>"
    assert captured.message["References"].split() == [
        "<1@customer.example.com>",
        "<2@postaci.local>",
        "<3@customer.example.com>",
    ]
    email.refresh_from_db()
    assert email.replied == original and email.in_reply_to == "<3@customer.example.com>"


def test_reply_to_a_message_with_only_in_reply_to_starts_references_with_it(
    agent, support, smtp_server
):
    original = Email.objects.create(
        message_id="<b@x>", in_reply_to="<a@x>", subject="Q", body_text="?"
    )
    EmailUser.objects.create(email=original, user=agent)
    email_deliver(_send(agent, support, replied=original).pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["References"].split() == ["<a@x>", "<b@x>"]


def test_turkish_subject_names_and_file_name_round_trip_in_the_captured_bytes(
    agent, support, smtp_server
):
    subject = "Sipariş İadesi: ığüşöç ĞÜŞİÖÇ — çok önemli"
    filename = "Fatura Şubat ığüşöç İĞÜŞÖÇ.pdf"
    email = _send(
        agent,
        support,
        to=[Mailbox("customer@example.com", "Çağrı Işık, Öğretmen")],
        subject=subject,
        body_html="<p>Merhaba <b>Çağrı</b> Hanım,</p><p>İyi günler.</p>",
        uploads=[AttachmentPart(filename, "application/pdf", b"%PDF-1.4 test")],
    )
    email_deliver(email.pk)

    [captured] = smtp_server.wait_for_messages(1)
    raw = captured.original_content
    assert raw.isascii()  # encoded words and RFC 2231 parameters, no 8-bit bytes
    assert b"=?utf-8?" in raw and b"filename*" in raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == "Çağrı Işık, Öğretmen"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == filename
    assert attachment.get_content() == b"%PDF-1.4 test"
    body = parsed.get_body(("plain",))
    assert parsed.get_body(("html",)).get_content().strip().startswith("<p>Merhaba <b>Çağrı")
    assert body.get_content().replace("\r\n", "\n").strip() == "Merhaba Çağrı Hanım,\n\nİyi günler."
    # our own parser reads it back the same way
    from mailboxes.intake.parse import parse_message

    ours = parse_message(raw)
    assert ours.subject == subject and ours.attachments[0].filename == filename


@pytest.mark.parametrize(
    "field, value",
    [
        ("subject", "Hi\r\nBcc: victim@example.com"),
        ("subject", "Hi\nX-Evil: 1"),
        ("to", [Mailbox("a@example.com", "Name\r\nBcc: victim@example.com")]),
        ("cc", [Mailbox("a@example.com\r\nBcc: victim@example.com")]),
        ("bcc", [Mailbox("a@example.com", "x\ny")]),
        ("reply_to", [Mailbox("a@example.com", "x\ry")]),
        ("uploads", [AttachmentPart("a.pdf\r\nX-Evil: 1", "application/pdf", b"x")]),
        ("uploads", [AttachmentPart("a.pdf", "application/pdf\r\nX-Evil: 1", b"x")]),
    ],
)
def test_line_breaks_in_any_header_field_are_refused(agent, support, field, value):
    with pytest.raises(HeaderInjection) as caught:
        _send(agent, support, **{field: value})
    assert caught.value.field in (field, "attachments" if field == "uploads" else field)
    assert not Email.objects.exists()


def test_line_break_in_the_from_name_is_refused(agent, make_smtp_group, smtp_server):
    account = make_smtp_group(smtp_server, from_name="Support\r\nBcc: victim@example.com")
    with pytest.raises(HeaderInjection):
        _send(agent, account)
    assert not Email.objects.exists()


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "subject"])
def test_line_breaks_posted_to_the_compose_view_are_a_form_error(agent, support, logged_in, field):
    data = {
        "from_account": support.pk,
        "to": "customer@example.com",
        "subject": "Hello",
        "body": "Hi",
        "action": "send",
    }
    data[field] = data.get(field, "other@example.com") + "\r\nBcc: victim@example.com"
    response = logged_in(agent).post(reverse("mailboxes:compose"), data)
    assert response.status_code == 200
    assert "Line breaks are not allowed here." in response.content.decode()
    assert not Email.objects.exists()


def test_permanent_refusal_fails_with_the_server_error_and_retry_sends_it(
    agent, support, smtp_server, logged_in
):
    email = _send(agent, support, subject="Invoice")
    smtp_server.fail_next(1, code=550, text="5.7.1 Relaying denied for you")
    assert email_deliver(email.pk).status == "failed"
    email.refresh_from_db()
    assert email.status == Email.Status.FAILED
    assert "550 5.7.1 Relaying denied for you" in str(email.send_error)
    assert smtp_server.messages == []

    client = logged_in(agent)
    response = client.post(reverse("mailboxes:email-retry", args=[email.pk]))
    assert response.status_code == 302
    email.refresh_from_db()
    assert (email.status, str(email.send_error)) == (Email.Status.SENDING, "")
    assert email_deliver(email.pk).status == "sent"
    assert len(smtp_server.wait_for_messages(1)) == 1
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.send_attempts == 2


def test_failed_email_page_fragment_shows_error_and_retry_button(agent, support, smtp_server):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    email = _send(agent, support)
    smtp_server.fail_next(1, code=554, text="5.0.0 No thanks")
    email_deliver(email.pk)
    request = RequestFactory().get("/emails/1/")
    request.user = agent
    html = render_to_string(
        "mailboxes/_send_status.html", {"email": Email.objects.get(pk=email.pk)}, request=request
    )
    assert "554 5.0.0 No thanks" in html
    assert reverse("mailboxes:email-retry", args=[email.pk]) in html


def test_temporary_refusal_is_retried_with_backoff_then_sent(agent, support, smtp_server, settings):
    settings.POSTACI_SEND_RETRY_DELAY = 30
    email = _send(agent, support)
    smtp_server.fail_next(2, code=451)

    first = email_deliver(email.pk)
    assert (first.status, first.retry_in) == ("retry", 30)
    second = email_deliver(email.pk)
    assert (second.status, second.retry_in) == ("retry", 60)
    email.refresh_from_db()
    assert email.status == Email.Status.SENDING and "451" in str(email.send_error)
    assert email_deliver(email.pk).status == "sent"
    assert len(smtp_server.messages) == 1 and len(smtp_server.rejections) == 2


def test_temporary_failures_give_up_after_the_last_attempt(agent, support, smtp_server, settings):
    settings.POSTACI_SEND_MAX_ATTEMPTS = 2
    email = _send(agent, support)
    smtp_server.fail_next(2, code=421, at="mail")
    assert email_deliver(email.pk).status == "retry"
    assert email_deliver(email.pk).status == "failed"
    email.refresh_from_db()
    assert email.status == Email.Status.FAILED and "421" in str(email.send_error)


def test_running_the_task_twice_sends_once(agent, support, smtp_server):
    email = _send(agent, support)
    assert email_deliver(email.pk).status == "sent"
    assert email_deliver(email.pk).status == "skipped"
    assert len(smtp_server.messages) == 1


def test_crash_after_the_server_accepted_never_sends_again(
    agent, support, smtp_server, monkeypatch, settings
):
    """The worker dies between the server's acceptance and the database update."""
    email = _send(agent, support)

    def worker_dies(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(delivery, "_record_accepted", worker_dies)
    with pytest.raises(SystemExit):
        email_deliver(email.pk)
    assert len(smtp_server.wait_for_messages(1)) == 1
    monkeypatch.undo()

    # The task is delivered again (acks_late): the claim is still there, nothing is sent.
    again = email_deliver(email.pk)
    assert again.status == "busy" and again.retry_in > 0
    assert len(smtp_server.messages) == 1

    # Past the lease the email is failed as "may have been delivered", never resent.
    OutgoingMessage.objects.filter(pk=email.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.POSTACI_SEND_CLAIM_LEASE + 1)
    )
    assert email_deliver(email.pk).status == "failed"
    email.refresh_from_db()
    assert email.status == Email.Status.FAILED
    assert "may or may not have been delivered" in str(email.send_error)
    assert email.outgoing.uncertain
    assert len(smtp_server.messages) == 1


def test_recover_fails_stale_claims_and_requeues_overdue_sends(agent, support, smtp_server):
    stale, lost = _send(agent, support), _send(agent, support)
    long_ago = timezone.now() - timedelta(days=1)
    OutgoingMessage.objects.filter(pk=stale.pk).update(claimed_at=long_ago, claim_token="x")
    OutgoingMessage.objects.filter(pk=lost.pk).update(due_at=long_ago)

    assert sending_recover() == {"failed": 1, "queued": 1}
    assert Email.objects.get(pk=stale.pk).status == Email.Status.FAILED
    assert Email.objects.get(pk=lost.pk).status == Email.Status.SENDING
    assert smtp_server.messages == []


def test_partly_refused_recipients_are_reported_on_the_sent_email(agent, support, smtp_server):
    email = _send(agent, support, to=[Mailbox("customer@example.com"), Mailbox("gone@example.com")])
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", at="rcpt")
    assert email_deliver(email.pk).status == "sent"
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    error = str(email.send_error)
    assert "customer@example.com" in error and "5.1.1 No such user" in error


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_accounts_log_in_and_send(agent, make_smtp_group, smtp_server_factory, tls):
    server = smtp_server_factory(auth=("support", "s3cret"), tls=tls)
    account = make_smtp_group(server)
    email = _send(agent, account)
    assert email_deliver(email.pk).status == "sent"
    [captured] = server.wait_for_messages(1)
    assert captured.tls and captured.auth_login == "support"


def test_wrong_password_fails_with_a_plain_error(agent, make_smtp_group, smtp_server_factory):
    server = smtp_server_factory(auth=("support", "s3cret"), tls="starttls")
    account = make_smtp_group(server, smtp_password="wrong")
    email = _send(agent, account)
    assert email_deliver(email.pk).status == "failed"
    email.refresh_from_db()
    assert "refused the user name or password" in str(email.send_error)


def test_unreachable_server_is_retried(agent, make_smtp_group, smtp_server):
    account = make_smtp_group(smtp_server)
    smtp_server.stop()
    email = _send(agent, account)
    outcome = email_deliver(email.pk)
    assert outcome.status == "retry"
    assert "refused the connection" in str(Email.objects.get(pk=email.pk).send_error)


def test_private_smtp_host_is_refused_by_the_ssrf_guard(agent, make_smtp_group, smtp_server):
    account = make_smtp_group(smtp_server, smtp_host="10.1.2.3")
    email = _send(agent, account)
    assert email_deliver(email.pk).status == "failed"
    assert "private" in str(Email.objects.get(pk=email.pk).send_error)


def test_after_sending_the_sender_follows_the_parent_and_the_stream_says_email_sent(
    agent, support, smtp_server, make_record
):
    contact = make_record("contact", None, addresses=["customer@example.com"])
    email = _send(agent, support, parent=contact)
    email_deliver(email.pk)
    assert is_following(contact, agent)
    note = Note.objects.get(type=Note.Type.EMAIL_SENT)
    assert (note.parent, note.related, note.author) == (contact, Email.objects.get(), agent)


def test_case_parent_sets_reply_to_to_the_group_address(agent, support, smtp_server, make_user):
    from cases.models import Case

    case = Case.objects.create(name="Printer", group_account=support)
    personal_server_email = _send(agent, support, parent=case, subject=f"{case.display_number} Hi")
    email_deliver(personal_server_email.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["Reply-To"].addresses[0].addr_spec == support.email_address
    assert EmailRecipient.objects.filter(
        email=personal_server_email, kind=EmailRecipient.Kind.REPLY_TO
    ).exists()


def test_double_submit_of_one_form_sends_one_email(agent, support, smtp_server, logged_in):
    client = logged_in(agent)
    data = {
        "from_account": support.pk,
        "to": "customer@example.com",
        "subject": "Once",
        "body": "Only once",
        "action": "send",
        "token": "form-token-1",
    }
    assert client.post(reverse("mailboxes:compose"), data).status_code == 302
    assert client.post(reverse("mailboxes:compose"), data).status_code == 302
    assert Email.objects.count() == 1


def test_draft_saved_then_edited_then_sent(agent, support, smtp_server, logged_in):
    client = logged_in(agent)
    data = {
        "from_account": support.pk,
        "to": "customer@example.com",
        "subject": "Draft one",
        "body": "First words",
        "action": "draft",
    }
    response = client.post(reverse("mailboxes:compose"), data)
    draft = Email.objects.get()
    assert draft.status == Email.Status.DRAFT
    assert response["Location"] == reverse("mailboxes:compose-draft", args=[draft.pk])
    page = client.get(response["Location"]).content.decode()
    assert "First words" in page and "Draft one" in page

    data.update(subject="Draft two", action="send")
    assert client.post(reverse("mailboxes:compose-draft", args=[draft.pk]), data).status_code == 302
    draft.refresh_from_db()
    assert draft.status == Email.Status.SENDING and draft.subject == "Draft two"
    email_deliver(draft.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["Subject"] == "Draft two"
    assert client.get(reverse("mailboxes:compose-draft", args=[draft.pk])).status_code == 404


def test_retry_of_a_sent_email_is_refused(agent, support, smtp_server):
    email = _send(agent, support)
    email_deliver(email.pk)
    from mailboxes.sending.exceptions import NotSendable

    with pytest.raises(NotSendable):
        email_retry(email=Email.objects.get(pk=email.pk), user=agent)


def test_incoming_message_fixture_is_unaffected(agent):
    # make_message stays importable for the store-sent tests
    assert b"Subject" in make_message()


def test_system_smtp_for_notifications_uses_the_same_backend_and_trusted_ca(
    smtp_server_factory, settings
):
    """Django's send_mail (notifications, digests) goes through MailSmtpBackend, which
    trusts POSTACI_MAIL_CA_FILE like the account connections (no SSL_CERT_FILE needed)."""
    from django.core.mail import send_mail

    server = smtp_server_factory(auth=("system", "pw"), tls="starttls")
    for name, value in server.django_email_settings().items():
        setattr(settings, name, value)
    settings.EMAIL_HOST = "localhost"
    settings.EMAIL_BACKEND = "mailboxes.sending.smtp.MailSmtpBackend"
    assert send_mail("Bildirim", "Gövde", "postaci@example.test", ["user@example.com"]) == 1
    [captured] = server.wait_for_messages(1)
    assert captured.tls and captured.auth_login == "system"
    assert captured.message["Subject"] == "Bildirim"
