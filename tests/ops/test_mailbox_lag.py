"""A mailbox's lag against the real Dovecot: the age of the oldest message on the server that
is not imported yet, by the date the server received it (INTERNALDATE, set here by APPEND),
per folder, as /metrics and the System page read it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from crm.models import User
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, FolderCursor, MailAccount
from ops.figures import mailboxes_figures
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "lag-metrics-token"


def _lag_samples(account: MailAccount) -> dict[tuple[str, str], float]:
    """``(metric, folder) -> value`` of the account's lag gauges, parsed as Prometheus does."""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.labels.get("account_id") == str(account.pk) and "folder" in sample.labels:
                found[sample.name, sample.labels["folder"]] = sample.value
    return found


def _kick_after_batches(dovecot, user, batches: int):
    """A progress callback that ends the IMAP session after ``batches`` batches: the fetch
    stops there, as when the server or the network drops the connection."""
    done = [0]

    def progress(kind: str, n: int) -> None:
        if kind == "advance":
            done[0] += 1
            if done[0] == batches:
                dovecot.kick(user)

    return progress


def test_mail_a_stopped_fetch_left_on_the_server_shows_its_real_age_per_folder(
    dovecot, make_group_account, settings
):
    settings.POSTACI_FETCH_BATCH_SIZE = 2
    settings.POSTACI_METRICS_TOKEN = TOKEN
    settings.POSTACI_METRICS_ALLOW = []
    user = dovecot.add_user("orders")
    dovecot.create_folder(user, "Orders")
    now = timezone.now().replace(microsecond=0)
    dovecot.append(user, "INBOX", make_message(), msg_time=now - timedelta(minutes=1))
    # received 5, 4, 1, 3 and 2 hours ago: the oldest left after the first batch is 3 hours old
    hours = [5, 4, 1, 3, 2]
    for hour in hours:
        dovecot.append(user, "Orders", make_message(), msg_time=now - timedelta(hours=hour))
    account = make_group_account(user, monitored_folders=["INBOX", "Orders"])

    # INBOX's one batch, then Orders' first batch; then the connection is gone
    summary = fetch_account(account.pk, progress=_kick_after_batches(dovecot, user, 2))
    assert summary.errors and Email.objects.count() == 3
    orders = FolderCursor.objects.get(account=account, folder="Orders")
    assert orders.last_uid == 2
    assert orders.pending_since == now - timedelta(hours=3)  # exact, to the second
    assert FolderCursor.objects.get(account=account, folder="INBOX").pending_since is None

    (row,) = mailboxes_figures()
    assert row.failing
    assert row.folder_lag["Orders"].measured
    assert 3 * 3600 - 5 < row.folder_lag["Orders"].seconds < 3 * 3600 + 60
    assert row.lag_folder == "Orders" and row.lag_seconds == row.folder_lag["Orders"].seconds
    # INBOX was fetched to the end a moment ago; the mailbox fails, so "at most" that long
    assert not row.folder_lag["INBOX"].measured and row.folder_lag["INBOX"].seconds < 60

    metrics = _lag_samples(account)
    assert 3 * 3600 - 5 < metrics["postaci_mailbox_lag_seconds", "Orders"] < 3 * 3600 + 60
    assert metrics["postaci_mailbox_lag_seconds", "INBOX"] < 60
    assert metrics["postaci_mailbox_lag_measured", "Orders"] == 1
    assert metrics["postaci_mailbox_lag_measured", "INBOX"] == 0

    # the account page (the System page links to it) says since when mail waits there
    admin = User.objects.create_user("boss", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("mailboxes:group-account-detail", args=[account.pk]))
    cells = re.findall(r'<td data-testid="cursor-pending">(.*?)</td>', page.content.decode())
    assert len(cells) == 2 and "—" in cells[0] and "3\xa0hours ago" in cells[1], cells

    # while nothing fetches it, the mail waits longer: the figure grows with time
    (later,) = mailboxes_figures(timezone.now() + timedelta(minutes=10))
    assert later.folder_lag["Orders"].seconds - row.folder_lag["Orders"].seconds > 599

    # the next fetch brings the rest: every folder is up to date, measured
    assert fetch_account(account.pk).imported == 3
    assert Email.objects.count() == 1 + len(hours)
    assert FolderCursor.objects.get(account=account, folder="Orders").pending_since is None
    (row,) = mailboxes_figures()
    assert not row.failing
    assert {folder: (lag.seconds, lag.measured) for folder, lag in row.folder_lag.items()} == {
        "INBOX": (0, True),
        "Orders": (0, True),
    }
    metrics = _lag_samples(account)
    assert metrics["postaci_mailbox_lag_seconds", "Orders"] == 0
    assert metrics["postaci_mailbox_lag_seconds", "INBOX"] == 0


def test_a_failing_mailbox_lag_grows_from_the_last_look_at_the_server(dovecot, make_group_account):
    user = dovecot.add_user("failing")
    dovecot.append(user, "INBOX", make_message())
    account = make_group_account(user)
    fetch_account(account.pk)
    (row,) = mailboxes_figures()
    assert (row.lag_seconds, row.lag.measured) == (0, True)

    # the password changed on the server 40 minutes ago; mail arrives that cannot be fetched
    looked_at = timezone.now() - timedelta(minutes=40)
    MailAccount.objects.filter(pk=account.pk).update(last_fetch_at=looked_at)
    FolderCursor.objects.filter(account=account).update(updated_at=looked_at)
    dovecot.append(user, "INBOX", make_message())
    account.refresh_from_db()
    account.imap_password = "no longer the password"
    account.save()
    assert fetch_account(account.pk).errors

    now = timezone.now()
    (row,) = mailboxes_figures(now)
    assert row.failing and not row.lag.measured  # the server could not be asked
    assert 40 * 60 - 5 < row.lag_seconds < 41 * 60
    (later,) = mailboxes_figures(now + timedelta(minutes=30))
    assert later.lag_seconds - row.lag_seconds == pytest.approx(30 * 60)


def test_a_mailbox_never_reached_is_behind_since_it_was_added(dovecot, make_group_account):
    user = dovecot.add_user("never")
    account = make_group_account(user, imap_password="wrong")
    MailAccount.objects.filter(pk=account.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert fetch_account(account.pk).errors
    (row,) = mailboxes_figures()
    assert not row.lag.measured and 3600 - 5 < row.lag_seconds < 3600 + 60


def test_mail_left_behind_then_deleted_on_the_server_is_no_longer_counted(
    dovecot, make_group_account, settings
):
    settings.POSTACI_FETCH_BATCH_SIZE = 1
    user = dovecot.add_user("deleted")
    now = timezone.now()
    for hour in (3, 2, 1):
        dovecot.append(user, "INBOX", make_message(), msg_time=now - timedelta(hours=hour))
    account = make_group_account(user)
    fetch_account(account.pk, progress=_kick_after_batches(dovecot, user, 1))
    assert FolderCursor.objects.get(account=account).pending_since is not None

    with dovecot.client(user) as imap:  # another mail client deletes what was left
        imap.select_folder("INBOX")
        imap.delete_messages([2, 3])
        imap.expunge()
    assert fetch_account(account.pk).fetched == 0
    assert FolderCursor.objects.get(account=account).pending_since is None
    (row,) = mailboxes_figures()
    assert (row.lag_seconds, row.lag.measured, row.failing) == (0, True, False)


def test_mail_the_watcher_heard_of_waits_from_when_its_fetch_was_queued(
    dovecot, make_group_account
):
    user = dovecot.add_user("watched")
    account = make_group_account(user)
    fetch_account(account.pk)
    queued_at = timezone.now() - timedelta(minutes=5)
    MailAccount.objects.filter(pk=account.pk).update(
        fetch_queued_at=queued_at, fetch_queued_urgent=True, watched_at=timezone.now()
    )
    (row,) = mailboxes_figures()
    assert row.lag.measured and 300 <= row.lag_seconds < 360
    # a poll's fetch in the queue says nothing of mail waiting
    MailAccount.objects.filter(pk=account.pk).update(fetch_queued_urgent=False)
    (row,) = mailboxes_figures()
    assert row.lag_seconds == 0
