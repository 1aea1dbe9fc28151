"""Bounces through the real servers: an agent's email goes out through the relay (aiosmtpd),
a real bounce from the sisimai corpus comes back into the support mailbox (Dovecot), Postaci
fetches it, and the address it names turns invalid — with its reason on the sent email, one
notification for the sender, no auto-reply to it, a warning in compose, and Mark valid."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.models import AutoReplyLog
from crm.deliverability import invalid_reason
from crm.models import Contact, EmailAddress, Notification
from mailboxes.bounces.reading import failures_of
from mailboxes.models import Bounce, Email
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.send import email_send
from tests.cases.mailflow import fetch, send_pending, smtp_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.shared import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)

BSD = CORPUS / "sisimai" / "bsd"
GONE = "gone@customer.example"


@pytest.fixture
def support(make_group_account, imap_user, mail_relay, team):
    mail_relay.add_mailbox(imap_user)
    return make_group_account(
        imap_user,
        name="Support",
        teams=[team],
        create_case=True,
        target_team=team,
        auto_reply=True,
        smtp_is_shared=True,
        **smtp_fields(mail_relay),
    )


@pytest.fixture
def agent(make_user, team):
    return make_user("sule", roles=[role("all")], teams=[team], first_name="Şule")


def send_to(agent, support, address: str, subject: str = "Offer") -> Email:
    """The agent's email, sent through the relay (the real SMTP path)."""
    data = ComposeData(
        from_account_id=support.pk, to=[Mailbox(address)], subject=subject, body_text="Hello\n"
    )
    email = email_send(user=agent, data=data)
    assert send_pending() == 1
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    return email


def corpus_bounce(name: str, sent: Email, support, recipient: str = GONE) -> bytes:
    """A sisimai bounce made to be about ``sent``: its failed recipient becomes ``recipient``,
    the original it carries gets ``sent``'s Message-ID, and it is addressed to the mailbox."""
    raw = (BSD / name).read_bytes()
    _kind, failures = failures_of(raw)
    split = re.search(rb"\r?\n\r?\n", raw).end()
    head, body = raw[:split], raw[split:]
    body = re.sub(
        rb"(?im)^(Message-Id:[ \t]*)<[^>\r\n]+>",
        lambda m: m.group(1) + sent.message_id.encode(),
        body,
    )
    head = re.sub(rb"(?im)^To:.*$", b"To: " + support.email_address.encode(), head, count=1)
    raw = head + body
    for failure in failures:
        raw = re.sub(re.escape(failure.address.encode()), recipient.encode(), raw, flags=re.I)
    return raw


@pytest.fixture
def deliver(dovecot, imap_user):
    """Put a bounce into the support mailbox as the MTA's local delivery does (Dovecot)."""

    def put(raw: bytes) -> None:
        dovecot.append(imap_user, "INBOX", raw)

    return put


def test_hard_bounce_invalidates_the_address_shows_why_and_tells_the_sender_once(
    support, agent, mail_relay, logged_in, deliver
):
    sent = send_to(agent, support, GONE)
    assert [m.rcpt_tos for m in mail_relay.messages] == [[GONE]]

    deliver(corpus_bounce("lhost-postfix-04.eml", sent, support))
    # a second bounce of the same email (the MTA retried another route) changes nothing more
    deliver(corpus_bounce("lhost-sendmail-01.eml", sent, support))
    assert fetch(support)["imported"] == 2

    address = EmailAddress.objects.get(address=GONE)
    assert address.is_invalid and address.invalid_source == "hard_bounce"
    assert address.invalid_status == "5.1.1"
    assert invalid_reason(address) == "bounced: mailbox does not exist (5.1.1)"
    bounce = Bounce.objects.filter(sent_email=sent).first()
    assert bounce.counts and bounce.hard and bounce.email.auto_kind == Email.AutoKind.BOUNCE
    assert bounce.email.replied == sent  # still linked to the thread it bounced from

    [notification] = Notification.objects.filter(user=agent, data__kind="bounce")
    assert notification.related == sent
    assert str(notification.message) == (
        "Your email “Offer” did not reach gone@customer.example: mailbox does not exist (5.1.1)"
    )

    client = logged_in(agent)
    notifications = client.get(reverse("crm:notifications")).content.decode()
    assert "did not reach gone@customer.example: mailbox does not exist (5.1.1)" in notifications
    page = client.get(reverse("mailboxes:email-detail", args=[sent.pk])).content.decode()
    assert "Bounced: gone@customer.example: mailbox does not exist (5.1.1)" in page
    assert '<span class="address-invalid"' in page  # the To shown struck through

    agent.language = "tr"
    agent.save(update_fields=["language"])
    page = client.get(reverse("mailboxes:email-detail", args=[sent.pk])).content.decode()
    assert "Geri döndü: gone@customer.example: posta kutusu yok (5.1.1)" in page


def test_no_auto_reply_goes_to_an_invalid_address(support, agent, mail_relay, deliver):
    sent = send_to(agent, support, GONE)
    deliver(corpus_bounce("lhost-postfix-04.eml", sent, support))
    fetch(support)
    assert EmailAddress.objects.get(address=GONE).is_invalid

    # the address writes in (the mailbox works again, or it is forged): a case, no auto-reply
    raw = make_message(sender=GONE, to=support.email_address, subject="Hello again")
    smtp_send(mail_relay, raw, mail_from=GONE, to=[support.email_address])
    fetch(support)
    email = Email.objects.get(subject="Hello again")
    [log] = AutoReplyLog.objects.filter(email=email)
    assert log.outcome == AutoReplyLog.Outcome.REFUSED
    assert "cannot receive mail" in str(log.reason) and GONE in str(log.reason)
    assert send_pending() == 0
    # only the agent's own email ever went to the address
    assert [m.rcpt_tos for m in mail_relay.messages if GONE in m.rcpt_tos] == [[GONE]]


def test_soft_bounces_invalidate_only_after_the_limit(
    support, agent, mail_relay, settings, deliver
):
    settings.POSTACI_SOFT_BOUNCE_LIMIT = 3
    for n, name in enumerate(
        ["lhost-gmail-06.eml", "lhost-dragonfly-12.eml", "lhost-exchange2007-02.eml"], start=1
    ):
        sent = send_to(agent, support, GONE, subject=f"Offer {n}")
        deliver(corpus_bounce(name, sent, support))
        fetch(support)
        address = EmailAddress.objects.get(address=GONE)
        assert address.is_invalid == (n == 3), n
    assert address.invalid_source == "soft_bounces"
    assert Bounce.objects.filter(address=address, hard=False, counts=True).count() == 3
    # one notification per bounced email
    assert Notification.objects.filter(user=agent, data__kind="bounce").count() == 3


@pytest.mark.parametrize(
    "name", ["rfc3834-01.eml", "arf-01.eml", "lhost-amazonses-12.eml"], ids=lambda n: n
)
def test_auto_replies_feedback_reports_and_delivery_notices_never_invalidate(
    support, agent, mail_relay, name, deliver
):
    sent = send_to(agent, support, GONE)
    raw = (BSD / name).read_bytes()
    # about our email, from and naming the address, and still no bounce
    references = f"In-Reply-To: {sent.message_id}\r\nMessage-ID: <{name}@test>".encode()
    raw = re.sub(rb"(?im)^Message-Id:[ \t]*<[^>\r\n]+>", references, raw, count=1)
    raw = re.sub(rb"[\w.+-]+@(?:[\w-]+\.)+[a-z]{2,}", GONE.encode(), raw)
    deliver(raw)
    assert fetch(support)["imported"] == 1
    assert not EmailAddress.objects.get(address=GONE).is_invalid
    assert not Bounce.objects.exists()
    assert not Notification.objects.filter(data__kind="bounce").exists()


def test_a_bounce_about_mail_we_never_sent_counts_against_nobody(
    support, agent, mail_relay, deliver
):
    sent = send_to(agent, support, "someone@customer.example")
    # a bounce about our email, but naming an address it was never sent to: recorded only
    deliver(corpus_bounce("lhost-postfix-04.eml", sent, support, GONE))
    fetch(support)
    bounce = Bounce.objects.get()
    assert bounce.sent_email == sent and not bounce.counts
    assert not EmailAddress.objects.get(address=GONE).is_invalid
    assert not Notification.objects.filter(data__kind="bounce").exists()


def test_compose_warns_and_mark_valid_works(
    support, agent, mail_relay, logged_in, make_record, deliver
):
    sent = send_to(agent, support, GONE)
    deliver(corpus_bounce("lhost-postfix-04.eml", sent, support))
    fetch(support)
    contact = make_record("contact", agent, addresses=[GONE], last_name="Yılmaz")
    client = logged_in(agent)

    detail = client.get(contact.get_absolute_url()).content.decode()
    assert "<s>gone@customer.example</s>" in detail
    assert "bounced: mailbox does not exist (5.1.1)" in detail

    page = client.get(reverse("mailboxes:compose") + f"?to={GONE}").content.decode()
    assert 'data-testid="invalid-recipients"' in page and "<s>gone@customer.example</s>" in page
    post = {
        "from_account": support.pk,
        "to": GONE,
        "subject": "Again",
        "body": "Hi",
        "action": "send",
        "draft_version": "0",
    }
    response = client.post(reverse("mailboxes:compose"), post)
    assert response.status_code == 200
    assert "Send anyway" in response.content.decode()
    assert not Email.objects.filter(subject="Again").exists()
    response = client.post(reverse("mailboxes:compose"), post | {"send_to_invalid": "on"})
    assert response.status_code == 302
    assert Email.objects.filter(subject="Again").exists()

    url = reverse("crm:contact-address-valid", args=[contact.pk, contact.email_address_rows[0].pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    address = EmailAddress.objects.get(address=GONE)
    assert not address.is_invalid and address.marked_valid_at is not None
    assert "<s>" not in client.get(contact.get_absolute_url()).content.decode()


def test_mark_valid_needs_a_record_the_user_may_see(
    support, agent, make_user, make_record, logged_in
):
    EmailAddress.objects.create(address=GONE, is_invalid=True, invalid_source="manual")
    contact = make_record("contact", agent, addresses=[GONE])
    outsider = make_user("outsider")
    address = EmailAddress.objects.get(address=GONE)
    url = reverse("crm:contact-address-valid", args=[contact.pk, address.pk])
    assert logged_in(outsider).post(url).status_code == 404
    assert EmailAddress.objects.get(address=GONE).is_invalid
    other = make_record("contact", agent, addresses=["other@customer.example"])
    url = reverse("crm:contact-address-valid", args=[other.pk, address.pk])
    assert logged_in(agent).post(url).status_code == 404  # not an address of that record
    assert Contact.objects.count() == 2


def test_a_bounce_in_an_imported_archive_invalidates_without_telling_the_sender(
    support, agent, tmp_path
):
    """History (an imported archive) still teaches Postaci which addresses are gone, but the
    sender hears nothing about a bounce of long ago."""
    from django.core.management import call_command

    sent = send_to(agent, support, GONE)
    archive = tmp_path / "old-bounce.eml"
    archive.write_bytes(corpus_bounce("lhost-postfix-04.eml", sent, support))
    call_command("importmail", "--account", str(support.pk), str(archive), "--json")

    address = EmailAddress.objects.get(address=GONE)
    assert address.is_invalid and address.invalid_status == "5.1.1"
    assert Bounce.objects.filter(sent_email=sent, counts=True).exists()
    assert not Notification.objects.filter(user=agent, data__kind="bounce").exists()
