"""The aiosmtpd fixtures behave like real SMTP servers (tests/servers/smtp.py)."""

import smtplib
import ssl

import pytest
from django.core.mail import EmailMessage, send_mail


def raw_message(subject: str) -> bytes:
    return (
        f"From: Ayse <ayse@example.test>\r\nTo: Bora <bora@example.test>\r\n"
        f"Subject: {subject}\r\n\r\nFirst line\r\n.a line starting with a dot\r\n"
    ).encode()


def test_smtp_server_captures_envelope_and_exact_bytes(smtp_server):
    raw = raw_message("Exact bytes")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.sendmail("bounce@example.test", ["bora@example.test", "hidden@example.test"], raw)

    [captured] = smtp_server.wait_for_messages(1)
    assert captured.mail_from == "bounce@example.test"
    assert captured.rcpt_tos == ["bora@example.test", "hidden@example.test"]
    assert captured.original_content == raw
    assert captured.message["Subject"] == "Exact bytes"
    assert captured.message.get_content().splitlines() == [
        "First line",
        ".a line starting with a dot",
    ]
    assert (captured.auth_login, captured.tls) == (None, False)


def test_django_system_email_reaches_system_smtp_server(system_smtp_server):
    sent = send_mail("Merhaba dünya", "Body text", "postaci@example.test", ["ops@example.test"])

    assert sent == 1
    [captured] = system_smtp_server.wait_for_messages(1)
    assert captured.message["Subject"] == "Merhaba dünya"
    assert captured.rcpt_tos == ["ops@example.test"]


def test_wait_for_messages_says_how_many_arrived(smtp_server):
    with pytest.raises(AssertionError, match="expected 1 message"):
        smtp_server.wait_for_messages(1, timeout=0.2)


def test_auth_server_accepts_only_the_right_credentials(smtp_server_factory):
    server = smtp_server_factory(auth=("sender", "s3cret"))

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("sender", "wrong")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("a@example.test", ["b@example.test"], raw_message("No auth"))
        assert refused.value.smtp_code == 530
        client.login("sender", "s3cret")
        client.sendmail("a@example.test", ["b@example.test"], raw_message("With auth"))

    [captured] = server.wait_for_messages(1)
    assert captured.auth_login == "sender"
    assert captured.message["Subject"] == "With auth"


def test_starttls_server_refuses_mail_before_starttls(smtp_server_factory, test_certificate):
    server = smtp_server_factory(auth=("sender", "s3cret"), tls="starttls")

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login("sender", "s3cret")  # AUTH is not offered before STARTTLS
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail("a@example.test", ["b@example.test"], raw_message("Clear"))

    assert server.messages == []


def test_django_sends_over_starttls_with_auth(smtp_server_factory, use_as_system_smtp):
    server = use_as_system_smtp(smtp_server_factory(auth=("sender", "s3cret"), tls="starttls"))

    EmailMessage("Over STARTTLS", "Body", "a@example.test", ["b@example.test"]).send()

    [captured] = server.wait_for_messages(1)
    assert (captured.tls, captured.auth_login) == (True, "sender")


def test_django_sends_over_implicit_tls_with_auth(smtp_server_factory, use_as_system_smtp):
    server = use_as_system_smtp(smtp_server_factory(auth=("sender", "s3cret"), tls="implicit"))

    EmailMessage("Over SMTPS", "Body", "a@example.test", ["b@example.test"]).send()

    [captured] = server.wait_for_messages(1)
    assert (captured.tls, captured.auth_login) == (True, "sender")


def test_smtps_certificate_is_refused_without_the_test_ca(smtp_server_factory):
    server = smtp_server_factory(tls="implicit")

    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(server.host, server.port, context=ssl.create_default_context())


def test_injected_550_refuses_the_message_for_good(system_smtp_server):
    system_smtp_server.fail_next(1, code=550)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_mail("Refused", "Body", "a@example.test", ["b@example.test"])
    send_mail("Accepted", "Body", "a@example.test", ["b@example.test"])

    assert refused.value.smtp_code == 550
    [captured] = system_smtp_server.wait_for_messages(1)
    assert captured.message["Subject"] == "Accepted"
    [rejection] = system_smtp_server.rejections
    assert (rejection.stage, rejection.reply) == ("data", "550 5.7.1 Refused (test)")


def test_injected_451_fails_each_attempt_until_used_up(smtp_server):
    smtp_server.fail_next(2, code=451, text="4.7.1 Greylisted, try again")
    codes = []

    for _attempt in range(3):
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
            try:
                client.sendmail("a@example.test", ["b@example.test"], raw_message("Retry"))
                codes.append(250)
            except smtplib.SMTPDataError as error:
                codes.append(error.smtp_code)

    assert codes == [451, 451, 250]
    assert len(smtp_server.wait_for_messages(1)) == 1


def test_injected_recipient_refusal_keeps_the_other_recipients(smtp_server):
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", at="rcpt")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        refused = client.sendmail(
            "a@example.test", ["gone@example.test", "b@example.test"], raw_message("Partly")
        )

    assert refused == {"gone@example.test": (550, b"5.1.1 No such user")}
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.rcpt_tos == ["b@example.test"]
