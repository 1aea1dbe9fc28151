"""One TLS context for every IMAP and SMTP connection (issue 15: building one per connection
cost ~20 ms of CPU and ~840 kB each, most of a 1,000-mailbox watcher's memory)."""

from __future__ import annotations

import ssl

from mailboxes.connection.network import mail_ssl_context, new_mail_ssl_context


def test_connections_share_one_context_per_ca_file(settings, test_certificate):
    settings.POSTACI_MAIL_CA_FILE = test_certificate.cert_path
    shared = mail_ssl_context()

    assert mail_ssl_context() is shared
    assert shared.check_hostname and shared.verify_mode == ssl.CERT_REQUIRED

    settings.POSTACI_MAIL_CA_FILE = ""
    assert mail_ssl_context() is not shared  # another trust store, another context


def test_a_context_of_ones_own_is_never_the_shared_one(settings, test_certificate):
    settings.POSTACI_MAIL_CA_FILE = test_certificate.cert_path
    own = new_mail_ssl_context()

    assert own is not mail_ssl_context()
    assert own.cert_store_stats() == mail_ssl_context().cert_store_stats()
