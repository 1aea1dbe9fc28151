"""Fetching, IDLE and sending with XOAUTH2 against the real provider, Dovecot and SMTP."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mailboxes.connection.credentials import account_bearer
from mailboxes.intake.fetch import fetch_account
from mailboxes.intake.watch import WatchSupervisor
from mailboxes.models import Email, MailAccount
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver
from tests.mailboxes.conftest import make_message
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def _send(account, subject: str):
    raw = make_message(subject=subject, sender=account.email_address, to="customer@example.com")
    account = MailAccount.objects.get(pk=account.pk)
    return smtp_deliver(
        SmtpSettings.of(account),
        raw,
        envelope_from=account.email_address,
        envelope_to=["customer@example.com"],
    )


def test_oauth_account_fetches_and_sends_with_xoauth2_only(
    dovecot, oauth_smtp, oauth_mailbox, make_oauth_account, oauth_server
):
    account = make_oauth_account(oauth_mailbox, smtp=oauth_smtp)
    dovecot.deliver(oauth_mailbox.imap_user, make_message(subject="Token fetched"))

    summary = fetch_account(account.pk)

    assert summary.errors == []
    assert Email.objects.filter(subject="Token fetched").exists()
    assert oauth_server.count_introspections(user=oauth_mailbox.address, active=True) >= 1
    _send(account, "Token sent")
    (message,) = oauth_smtp.wait_for_messages(1)
    assert message.auth_mechanism == "XOAUTH2"
    assert message.auth_login == oauth_mailbox.address
    assert message.message["Subject"] == "Token sent"


def test_fetch_and_send_keep_working_across_token_lifetimes_one_refresh_each(
    dovecot, oauth_smtp, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, smtp=oauth_smtp)
    for lifetime in range(3):
        # the provider ends the token early: the login is refused, refreshed once, retried
        oauth_server.expire_access_tokens(user=oauth_mailbox.address)
        dovecot.deliver(oauth_mailbox.imap_user, make_message(subject=f"Life {lifetime}"))
        assert fetch_account(account.pk).errors == []
        _send(account, f"Sent in life {lifetime}")
        assert oauth_server.refreshes(client_id=oauth_client.client_id) == lifetime + 1

    assert Email.objects.filter(subject__startswith="Life ").count() == 3
    assert len(oauth_smtp.wait_for_messages(3)) == 3


def test_token_refreshed_shortly_before_expiry_without_a_refused_login(
    dovecot, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    oauth_server.update_client(oauth_client.client_id, token_lifetime=2)
    account = make_oauth_account(oauth_mailbox)
    wait_until(lambda: not oauth_server.is_active(account.oauth_access_token), timeout=10)
    refused_before = oauth_server.count_introspections(user=oauth_mailbox.address, active=False)

    assert fetch_account(account.pk).errors == []

    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 1
    assert (
        oauth_server.count_introspections(user=oauth_mailbox.address, active=False)
        == refused_before
    )


def test_refused_token_is_refreshed_once_then_a_real_failure(
    dovecot, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox)
    # Dovecot refuses the token for another mailbox: refreshing cannot help
    other = dovecot.add_user("o", domain="example.test")
    MailAccount.objects.filter(pk=account.pk).update(oauth_address=other.email)

    summary = fetch_account(account.pk)

    assert summary.errors
    account.refresh_from_db()
    assert account.consecutive_failures == 1
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_moment_of_expiry_cause_exactly_one_refresh(
    dovecot, oauth_smtp, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, smtp=oauth_smtp)
    MailAccount.objects.filter(pk=account.pk).update(oauth_refresh_at="2000-01-01T00:00Z")
    oauth_server.expire_access_tokens(user=oauth_mailbox.address)
    dovecot.deliver(oauth_mailbox.imap_user, make_message(subject="Raced"))
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def worker(action):
        try:
            start.wait()
            outcomes.append(action())
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    actions = [
        lambda: fetch_account(account.pk).errors,
        lambda: _send(account, "Raced reply"),
        lambda: account_bearer(account.pk).token,
        lambda: account_bearer(account.pk).token,
    ]
    threads = [threading.Thread(target=worker, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 1
    assert Email.objects.filter(subject="Raced").exists()
    assert oauth_smtp.wait_for_messages(1)[0].auth_mechanism == "XOAUTH2"


@pytest.mark.django_db(transaction=True)
def test_idle_keeps_reporting_new_mail_across_token_lifetimes(
    dovecot, oauth_mailbox, make_oauth_account, oauth_server
):
    account = make_oauth_account(oauth_mailbox)
    heard: list[int] = []
    supervisor = WatchSupervisor(heard.extend, reload_seconds=3600)
    try:
        for lifetime in range(3):
            oauth_server.expire_access_tokens(user=oauth_mailbox.address)
            # a new IDLE connection (after a drop or the 25-minute renewal) logs in again
            supervisor.stop_all()
            caught_up = len(heard)
            supervisor.reload()
            assert wait_until(lambda c=caught_up: len(heard) > c, timeout=10)
            assert wait_until(
                lambda: all(w.connected.is_set() for w in supervisor.watchers.values())
            )
            before = len(heard)
            dovecot.deliver(oauth_mailbox.imap_user, make_message(subject=f"Idle {lifetime}"))
            assert wait_until(lambda b=before: len(heard) > b, timeout=10)
    finally:
        supervisor.stop_all()
    assert set(heard) == {account.pk}
    assert oauth_server.refreshes(user=oauth_mailbox.address) == 3


def test_smtp_refusing_an_early_expired_token_gets_one_refresh_and_a_retry(
    oauth_smtp, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, smtp=oauth_smtp)
    oauth_server.expire_access_tokens(user=oauth_mailbox.address)

    _send(account, "After a refused token")

    assert [a.success for a in oauth_smtp.auth_attempts] == [False, True]
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 1
    assert oauth_smtp.wait_for_messages(1)[0].message["Subject"] == "After a refused token"


def test_no_token_or_secret_reaches_the_logs_even_at_debug_level(
    caplog, dovecot, oauth_smtp, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    import base64
    import logging

    caplog.set_level(logging.DEBUG)
    account = make_oauth_account(oauth_mailbox, smtp=oauth_smtp)
    old_refresh = account.oauth_refresh_token
    oauth_server.expire_access_tokens(user=oauth_mailbox.address)
    dovecot.deliver(oauth_mailbox.imap_user, make_message(subject="Logged"))

    assert fetch_account(account.pk).errors == []
    _send(account, "Logged reply")

    account.refresh_from_db()
    secrets = [
        oauth_client.client_secret,
        old_refresh,
        account.oauth_refresh_token,
        account.oauth_access_token,
    ]
    for secret in list(secrets):
        login = f"user={oauth_mailbox.address}\x01auth=Bearer {secret}\x01\x01"
        secrets.append(base64.b64encode(login.encode()).decode())
    # Postaci's side only: the provider (oauthlib) and SMTP server (mail.log) run in-process
    ours = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("oauthlib", "mail.log"))
    )
    assert "Refreshed the access token" in ours
    assert not [s for s in secrets if s in ours]
