"""A process out of file descriptors says so, instead of blaming the mail server; watchmail
starts with the open-file limit as high as it may go.

The limit is really reached: the test lowers this process's soft limit to a few more than it
has open and fills the rest, then restores both.
"""

from __future__ import annotations

import logging
import os
import resource
from contextlib import contextmanager, suppress

import pytest

from mailboxes.connection.imap import ImapSettings, account_test_connection
from mailboxes.connection.network import raise_open_file_limit
from mailboxes.exceptions import MailConnectionError
from mailboxes.intake.fetch import fetch_account
from mailboxes.intake.watch import FolderWatcher, watch_targets
from mailboxes.models import Security
from mailboxes.sending.exceptions import DeliveryError
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver
from tests.waiting import wait_until


@contextmanager
def no_file_descriptor_left():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
    try:
        with suppress(OSError):
            while True:
                held.append(open(os.devnull, "rb"))  # noqa: SIM115 (closed below)
        yield
    finally:
        for handle in held:
            handle.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _blames_this_process(message) -> None:
    message = str(message)
    assert "open files" in message and "LimitNOFILE" in message
    assert "could not be reached" not in message


def test_test_connection_out_of_files_blames_this_process(dovecot, imap_user):
    imap = ImapSettings(
        dovecot.host, dovecot.imap_port, Security.NONE, imap_user.username, imap_user.password
    )
    with no_file_descriptor_left(), pytest.raises(MailConnectionError) as error:
        account_test_connection(imap)
    assert error.value.code == "local_limit"
    _blames_this_process(str(error.value))
    assert "INBOX" in account_test_connection(imap)  # and all is well again afterwards


@pytest.mark.django_db
def test_fetch_out_of_files_records_this_process_as_the_cause(imap_user, make_group_account):
    account = make_group_account(imap_user)
    assert not fetch_account(account.pk).errors  # a worker that has fetched before
    with no_file_descriptor_left():
        summary = fetch_account(account.pk)
    [error] = summary.errors
    _blames_this_process(error)
    account.refresh_from_db()
    _blames_this_process(account.last_error)


def test_smtp_delivery_out_of_files_is_retried_and_blames_this_process(smtp_server):
    smtp = SmtpSettings(smtp_server.host, smtp_server.port)
    with no_file_descriptor_left(), pytest.raises(DeliveryError) as error:
        smtp_deliver(
            smtp, b"Subject: x\r\n\r\nx\r\n", envelope_from="a@x.test", envelope_to=["b@x"]
        )
    assert (error.value.code, error.value.transient, error.value.uncertain) == (
        "local_limit",
        True,
        False,
    )
    _blames_this_process(str(error.value))


@pytest.mark.django_db
def test_idle_watcher_out_of_files_logs_an_error_naming_the_limit(
    imap_user, make_group_account, caplog
):
    make_group_account(imap_user)
    [target] = watch_targets()
    watcher = FolderWatcher(target, lambda account_id: None)
    with (
        caplog.at_level(logging.WARNING, logger="mailboxes.intake.watch"),
        no_file_descriptor_left(),
    ):
        watcher.start()
        wait_until(lambda: watcher.failures)
        watcher.stop()  # the back-off wait ends at once
        watcher.join(timeout=30)
    assert not watcher.is_alive()
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    _blames_this_process(record.getMessage())


def test_watchmail_raises_the_soft_open_file_limit_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        before, after = raise_open_file_limit()
        assert (before, after) == (min(1024, hard), hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
