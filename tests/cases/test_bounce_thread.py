"""A bounce of mail Postaci sent lands on the thread it bounced from, and opens no case."""

from __future__ import annotations

import pytest

from cases.models import AutoReplyLog, Case
from mailboxes.intake.fetch import fetch_account
from mailboxes.linking.message_ids import message_id_new
from mailboxes.models import Email

pytestmark = pytest.mark.django_db(transaction=True)


def _dsn(original_headers: str, *, as_rfc822: bool) -> bytes:
    """A delivery status notification in the shape Postfix sends."""
    enclosed_type = "message/rfc822" if as_rfc822 else "text/rfc822-headers"
    return (
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n"
        "To: support@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n"
        f"--B\r\nContent-Type: {enclosed_type}\r\n\r\n{original_headers}\r\n"
        "\r\nThe original text.\r\n--B--\r\n"
    ).encode()


@pytest.mark.parametrize("as_rfc822", [True, False], ids=["message-rfc822", "rfc822-headers"])
def test_bounce_of_a_case_reply_joins_the_case_and_opens_nothing(
    dovecot, imap_user, make_group_account, as_rfc822
):
    account = make_group_account(imap_user, create_case=True, auto_reply=True)
    case = Case.objects.create(name="Printer broken", group_account=account)
    sent = Email.objects.create(
        message_id=message_id_new(parent=case),
        subject=f"Re: [#{case.number}] Printer broken",
        status=Email.Status.SENT,
        parent=case,
    )
    original = (
        f"From: support@example.test\r\nTo: gone@customer.example\r\n"
        f"Subject: {sent.subject}\r\nMessage-ID: {sent.message_id}"
    )
    dovecot.append(imap_user, "INBOX", _dsn(original, as_rfc822=as_rfc822))

    assert fetch_account(account.pk, notify=True).imported == 1
    bounce = Email.objects.get(message_id="<dsn-1@mx.customer.example>")
    assert bounce.auto_kind == Email.AutoKind.BOUNCE
    assert bounce.parent == case
    assert bounce.replied == sent
    assert Case.objects.count() == 1
    assert not AutoReplyLog.objects.filter(email=bounce, outcome="sent").exists()


def test_bounce_quoting_the_original_as_text_still_finds_it(dovecot, imap_user, make_group_account):
    account = make_group_account(imap_user)
    sent = Email.objects.create(
        message_id="<our-1@example.test>", subject="Offer", status=Email.Status.SENT
    )
    dovecot.append(
        imap_user,
        "INBOX",
        (
            b"From: postmaster@old.example\r\nTo: support@example.test\r\n"
            b"Subject: failure notice\r\nMessage-ID: <qmail-1@old.example>\r\n\r\n"
            b"Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver.\r\n"
            b"--- Below this line is a copy of the message.\r\n\r\n"
            b"Message-ID: <our-1@example.test>\r\nSubject: Offer\r\n\r\nHello\r\n"
        ),
    )
    fetch_account(account.pk)
    assert Email.objects.get(message_id="<qmail-1@old.example>").replied == sent
