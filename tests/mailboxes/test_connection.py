"""Test connection against the real Dovecot: folders listed, errors in plain words."""

from __future__ import annotations

import logging
import socket

import pytest

from mailboxes.connection.imap import (
    IMAPLIB_LOGGER,
    ImapSettings,
    account_test_connection,
    imap_close,
    imap_connect,
)
from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.models import Security
from tests.mailboxes.conftest import make_message


def _settings(dovecot, user, **changes) -> ImapSettings:
    values = {
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "security": Security.NONE,
        "username": user.username,
        "password": user.password,
    }
    values.update(changes)
    return ImapSettings(**values)


def test_plain_imap_lists_folders_inbox_first(dovecot, imap_user):
    dovecot.create_folder(imap_user, "Müşteriler/Özel")
    folders = account_test_connection(_settings(dovecot, imap_user))
    assert folders[0] == "INBOX"
    assert {"Sent", "Trash", "Müşteriler/Özel"} <= set(folders)


def test_imaps_verifies_the_certificate_it_was_told_to_trust(dovecot, imap_user, settings):
    folders = account_test_connection(
        _settings(dovecot, imap_user, port=dovecot.imaps_port, security=Security.SSL)
    )
    assert "INBOX" in folders
    settings.POSTACI_MAIL_CA_FILE = ""
    with pytest.raises(MailConnectionError) as error:
        account_test_connection(
            _settings(dovecot, imap_user, port=dovecot.imaps_port, security=Security.SSL)
        )
    assert error.value.code == "tls"
    assert "certificate" in str(error.value)


def test_starttls_upgrades_the_plain_port(dovecot, imap_user):
    folders = account_test_connection(_settings(dovecot, imap_user, security=Security.STARTTLS))
    assert "INBOX" in folders


def test_wrong_password_is_reported_as_such(dovecot, imap_user):
    with pytest.raises(MailConnectionError) as error:
        account_test_connection(_settings(dovecot, imap_user, password="nope"))
    assert error.value.code == "auth"
    assert "user name or password" in str(error.value)


def test_closed_port_is_reported_as_refused(dovecot, imap_user):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(MailConnectionError) as error:
        account_test_connection(_settings(dovecot, imap_user, port=closed_port))
    assert error.value.code == "refused"


def test_tls_against_a_plain_port_is_a_tls_error(dovecot, imap_user):
    with pytest.raises(MailConnectionError) as error:
        account_test_connection(_settings(dovecot, imap_user, security=Security.SSL))
    assert error.value.code in {"tls", "protocol"}


def test_unknown_host_is_reported_as_not_found(imap_user, dovecot):
    with pytest.raises(MailConnectionError) as error:
        account_test_connection(_settings(dovecot, imap_user, host="no-such-host.invalid"))
    assert error.value.code == "dns"


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.10", "169.254.169.254", "::1"])
def test_private_addresses_are_refused_unless_allow_listed(dovecot, imap_user, host, settings):
    with pytest.raises(MailHostNotAllowed):
        account_test_connection(_settings(dovecot, imap_user, host=host))


def test_loopback_is_refused_without_the_allow_list(dovecot, imap_user, settings):
    settings.POSTACI_MAIL_HOST_ALLOWLIST = []
    with pytest.raises(MailHostNotAllowed):
        account_test_connection(_settings(dovecot, imap_user))
    settings.POSTACI_MAIL_HOST_ALLOWLIST = [f"127.0.0.1:{dovecot.imap_port}"]
    assert "INBOX" in account_test_connection(_settings(dovecot, imap_user))


def test_a_server_that_never_answers_times_out(dovecot, imap_user, settings):
    settings.POSTACI_IMAP_TIMEOUT = 0.5
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(MailConnectionError) as error:
            account_test_connection(_settings(dovecot, imap_user, port=silent.getsockname()[1]))
    assert error.value.code == "timeout"


def _fetch_body_noting_imaplib_messages(dovecot, imap_user) -> tuple[bytes, list[str]]:
    client = imap_connect(_settings(dovecot, imap_user))
    messages: list[str] = []
    log = client._imap._mesg
    client._imap._mesg = lambda text, *args: messages.append(text) or log(text, *args)
    try:
        client.select_folder("INBOX")
        (data,) = client.fetch(client.search(["ALL"]), [b"BODY.PEEK[]"]).values()
    finally:
        imap_close(client)
    return data[b"BODY[]"], messages


def test_imaplib_builds_no_debug_messages_nobody_reads(dovecot, imap_user, caplog):
    """IMAPClient has imaplib build a debug message of every response, whether its logger
    writes it or not: a repr() of a whole message body, twice, as it was fetched."""
    message = make_message(body="Merhaba, faturam ekte. " * 2000)
    dovecot.append(imap_user, "INBOX", message)
    caplog.set_level(logging.INFO, logger=IMAPLIB_LOGGER)
    body, messages = _fetch_body_noting_imaplib_messages(dovecot, imap_user)
    assert body.replace(b"\r\n", b"\n") == message
    assert messages == []
    # someone reading the protocol still gets every message
    caplog.set_level(logging.DEBUG, logger=IMAPLIB_LOGGER)
    body, messages = _fetch_body_noting_imaplib_messages(dovecot, imap_user)
    assert body.replace(b"\r\n", b"\n") == message
    assert any("untagged_responses[FETCH]" in text for text in messages)
    assert any(record.name == IMAPLIB_LOGGER for record in caplog.records)
