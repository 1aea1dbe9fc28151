"""IMAP IDLE and the Celery tasks, with the real Dovecot, Redis and a real worker."""

from __future__ import annotations

import threading

import pytest

from mailboxes.intake.watch import WatchSupervisor
from mailboxes.models import Email
from tests.mailboxes.conftest import make_message
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, timeout: float = 10.0) -> bool:
    return bool(wait_until(condition, timeout))


def test_idle_reports_new_mail_within_seconds(dovecot, imap_user, make_group_account):
    account = make_group_account(imap_user)
    heard: list[int] = []
    supervisor = WatchSupervisor(heard.extend, reload_seconds=3600)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: heard == [account.pk])  # catch-up report at connect
        assert _wait_for(lambda: all(w.connected.is_set() for w in supervisor.watchers.values()))
        dovecot.deliver(imap_user, make_message())
        # No poll is due for an hour, so only IDLE can report it this soon.
        assert _wait_for(lambda: len(heard) == 2, timeout=10)
    finally:
        supervisor.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_watcher_follows_account_changes(dovecot, make_group_account):
    first, second = dovecot.add_user("one"), dovecot.add_user("two")
    account = make_group_account(first)
    supervisor = WatchSupervisor(lambda _ids: None, reload_seconds=3600)
    supervisor.reload()
    try:
        assert [w.target.account_id for w in supervisor.watchers.values()] == [account.pk]
        other = make_group_account(second, monitored_folders=["INBOX", "Sent"])
        account.status = "inactive"
        account.save()
        supervisor.reload()
        watched = sorted(
            (w.target.account_id, w.target.folder) for w in supervisor.watchers.values()
        )
        assert watched == [(other.pk, "INBOX"), (other.pk, "Sent")]
    finally:
        supervisor.stop_all()


def test_poll_task_fetches_through_a_real_worker(
    dovecot, imap_user, make_group_account, make_personal_account, celery_worker
):
    from crm.models import User
    from mailboxes.tasks import poll_group_accounts, poll_personal_accounts

    owner = User.objects.create_user("owner", email="owner@example.test")
    group_user, personal_user = imap_user, dovecot.add_user("mine")
    dovecot.append(group_user, "INBOX", make_message(subject="to the group"))
    dovecot.append(personal_user, "INBOX", make_message(subject="to me"))
    make_group_account(group_user)
    make_personal_account(owner, personal_user)

    poll_group_accounts.delay()
    poll_personal_accounts.delay()
    assert _wait_for(lambda: Email.objects.count() == 2, timeout=20)
    assert set(Email.objects.values_list("subject", flat=True)) == {"to the group", "to me"}


def test_watcher_wakes_for_a_saved_account_within_seconds(dovecot, imap_user, make_group_account):
    # A full reload is an hour away: only the check of the account table can see the account.
    supervisor = WatchSupervisor(lambda _ids: None, reload_seconds=3600, check_seconds=0.2)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: supervisor.stamp is not None)
        account = make_group_account(imap_user)
        assert _wait_for(
            lambda: (
                [w.target.account_id for w in list(supervisor.watchers.values())] == [account.pk]
            )
        )
        account.monitored_folders = ["INBOX", "Sent"]
        account.save()
        assert _wait_for(
            lambda: (
                sorted(w.target.folder for w in list(supervisor.watchers.values()))
                == ["INBOX", "Sent"]
            )
        )
        account.delete()
        assert _wait_for(lambda: not supervisor.watchers)
    finally:
        supervisor.stop()
        thread.join(timeout=10)
