"""The Dovecot fixture behaves like a real IMAP server (tests/servers/dovecot.py)."""

import ssl
import time

import imapclient
import pytest
from django.conf import settings
from imapclient.exceptions import LoginError

from tests.servers.dovecot import ImapUser

SPECIAL_USE_FLAGS = {b"\\Sent", b"\\Drafts", b"\\Trash", b"\\Junk", b"\\Archive", b"\\All"}


def make_message(subject: str, body: str = "Hello.") -> bytes:
    return (
        f"From: Ayse <ayse@example.test>\r\nTo: Team <team@example.test>\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
        f"Date: Thu, 27 Nov 2025 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def test_appended_message_fetched_over_plain_imap_is_byte_identical(dovecot, imap_user):
    raw = make_message("Plain IMAP")

    uid = dovecot.append(imap_user, "INBOX", raw, flags=["\\Seen"])

    with dovecot.client(imap_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        fetched = imap.fetch([uid], ["BODY.PEEK[]", "FLAGS"])[uid]
    assert fetched[b"BODY[]"] == raw
    assert b"\\Seen" in fetched[b"FLAGS"]


def test_imaps_certificate_verifies_with_the_product_ca_setting(dovecot, imap_user):
    """Product code trusts the test server by loading settings.POSTACI_MAIL_CA_FILE."""
    raw = make_message("Over TLS")
    context = ssl.create_default_context()
    context.load_verify_locations(settings.POSTACI_MAIL_CA_FILE)

    for host in ("127.0.0.1", "localhost"):
        with imapclient.IMAPClient(
            host, port=dovecot.imaps_port, ssl=True, ssl_context=context, timeout=10
        ) as imap:
            imap.login(imap_user.username, imap_user.password)
            response = imap.append("INBOX", raw)
            assert b"APPENDUID" in response

    with dovecot.client(imap_user, ssl=True) as imap:
        imap.select_folder("INBOX", readonly=True)
        bodies = imap.fetch(imap.search("ALL"), ["BODY.PEEK[]"])
    assert [data[b"BODY[]"] for data in bodies.values()] == [raw, raw]


def test_imaps_certificate_is_refused_without_the_test_ca(dovecot):
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            dovecot.host, port=dovecot.imaps_port, ssl=True,
            ssl_context=ssl.create_default_context(), timeout=10,
        )  # fmt: skip


def test_wrong_password_is_refused_at_once(dovecot, imap_user):
    for wrong in (ImapUser(imap_user.username, "wrong"), ImapUser("nobody-here", "x")):
        started = time.monotonic()
        with pytest.raises(LoginError):
            dovecot.client(wrong)
        # Dovecot's default delay is 2 s (plus a growing penalty per failure).
        assert time.monotonic() - started < 1.0


def test_user_added_while_server_runs_can_log_in(dovecot):
    """Dovecot re-reads the passwd-file when it changes: no reload between add_user calls."""
    first = dovecot.add_user("first")
    dovecot.client(first).logout()

    second = dovecot.add_user("second")

    for user in (first, second):
        with dovecot.client(user) as imap:
            assert imap.select_folder("INBOX")[b"EXISTS"] == 0
    assert first.email == f"{first.username}@example.test"


def test_users_see_only_their_own_mail(dovecot, imap_user):
    other = dovecot.add_user("other")

    dovecot.append(other, "INBOX", make_message("For other"))

    assert dovecot.folder_uids(imap_user, "INBOX") == []
    assert dovecot.folder_uids(other, "INBOX") == [1]


def test_mailbox_has_special_use_folders_and_slash_separator(dovecot, imap_user):
    dovecot.create_folder(imap_user, "Projects/Acme")

    with dovecot.client(imap_user) as imap:
        listed = imap.list_folders()
    special_use = {
        name: {flag for flag in flags if flag in SPECIAL_USE_FLAGS} for flags, _, name in listed
    }
    assert special_use == {
        "INBOX": set(),
        "Sent": {b"\\Sent"},
        "Drafts": {b"\\Drafts"},
        "Trash": {b"\\Trash"},
        "Junk": {b"\\Junk"},
        "Archive": {b"\\Archive"},
        "Projects": set(),
        "Projects/Acme": set(),
    }
    assert {delimiter for _, delimiter, _ in listed} == {b"/"}
    assert "Projects/Acme" in dovecot.folders(imap_user)


def test_multiappend_stores_a_thousand_messages_in_order(dovecot, imap_user):
    messages = [make_message(f"Bulk {n}", body=f"Message number {n}.") for n in range(1000)]

    started = time.monotonic()
    uids = dovecot.append_many(imap_user, "INBOX", messages)
    elapsed = time.monotonic() - started

    print(f"MULTIAPPEND: {len(messages) / elapsed:,.0f} messages/s ({elapsed:.2f} s for 1,000)")
    assert uids == list(range(1, 1001))
    assert dovecot.folder_uids(imap_user, "INBOX") == uids
    stored = dovecot.fetch(imap_user, "INBOX")
    assert stored[1] == messages[0]
    assert stored[1000] == messages[999]


def test_append_many_keeps_flags_and_dates(dovecot, imap_user):
    from datetime import UTC, datetime

    when = datetime(2024, 2, 29, 12, 30, tzinfo=UTC)

    [uid] = dovecot.append_many(
        imap_user,
        "Archive",
        [{"msg": make_message("Old"), "flags": ["\\Seen", "\\Answered"], "date": when}],
    )

    assert dovecot.flags(imap_user, "Archive") == {uid: {"\\Seen", "\\Answered"}}
    with dovecot.client(imap_user) as imap:
        imap.select_folder("Archive", readonly=True)
        internal_date = imap.fetch([uid], ["INTERNALDATE"])[uid][b"INTERNALDATE"]
    assert internal_date.astimezone(UTC) == when


def test_delivered_message_appears_like_mta_delivery(dovecot, imap_user):
    raw = make_message("Delivered")

    dovecot.deliver(imap_user, raw)
    dovecot.deliver(imap_user, make_message("Filed"), folder="Archive")

    assert list(dovecot.fetch(imap_user, "INBOX").values()) == [raw]
    assert dovecot.flags(imap_user, "INBOX") == {1: set()}  # unread, as new mail is
    assert len(dovecot.folder_uids(imap_user, "Archive")) == 1


def test_flags_set_by_a_client_are_reported(dovecot, imap_user):
    uid = dovecot.append(imap_user, "INBOX", make_message("Flag me"))

    with dovecot.client(imap_user) as imap:
        imap.select_folder("INBOX")
        imap.add_flags([uid], ["\\Flagged", "$Important"])

    assert dovecot.flags(imap_user, "INBOX") == {uid: {"\\Flagged", "$Important"}}


def test_recreated_folder_gets_a_new_uidvalidity(dovecot, imap_user):
    dovecot.create_folder(imap_user, "Projects")
    dovecot.append(imap_user, "Projects", make_message("Before"))
    before = dovecot.uidvalidity(imap_user, "Projects")

    dovecot.delete_folder(imap_user, "Projects")
    dovecot.create_folder(imap_user, "Projects")

    assert dovecot.uidvalidity(imap_user, "Projects") != before
    assert dovecot.folder_uids(imap_user, "Projects") == []
    assert "Projects" in dovecot.folders(imap_user)


def test_loopback_mail_hosts_are_allow_listed_for_tests():
    assert {"127.0.0.1", "localhost"} <= set(settings.POSTACI_MAIL_HOST_ALLOWLIST)
