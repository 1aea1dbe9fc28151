"""An installation as the System page shows it: one mailbox up to date, one whose fetches left
mail on the server two hours ago and have not come back for it, one whose server has refused
the password for 40 minutes; 24 hours of samples; jobs that ran."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from mailboxes.messages import IMAP_AUTH
from mailboxes.models import FolderCursor, GroupEmailAccount, MailAccount
from ops.models import JobOutcome, OpsSample
from ops.samples import sample_record


def system_data() -> dict[str, GroupEmailAccount]:
    now = timezone.now()
    fields = {"imap_host": "imap.example.com", "imap_username": "u", "imap_password": "secret-pw"}
    accounts = {
        "fine": GroupEmailAccount.objects.create(
            name="Billing", email_address="billing@example.test", **fields
        ),
        "lagging": GroupEmailAccount.objects.create(
            name="Sales", email_address="sales@example.test", **fields
        ),
        "failing": GroupEmailAccount.objects.create(
            name="Support", email_address="support@example.test", **fields
        ),
    }
    MailAccount.objects.filter(pk=accounts["fine"].pk).update(
        last_fetch_at=now - timedelta(seconds=20), watched_at=now
    )
    MailAccount.objects.filter(pk=accounts["lagging"].pk).update(
        last_fetch_at=now - timedelta(hours=3), monitored_folders=["INBOX", "Orders"]
    )
    MailAccount.objects.filter(pk=accounts["failing"].pk).update(
        last_fetch_at=now - timedelta(minutes=40),
        consecutive_failures=4,
        last_error=IMAP_AUTH().as_json(),
        last_error_at=now - timedelta(minutes=1),
    )
    cursors = [
        ("fine", "INBOX", None),
        ("lagging", "INBOX", None),
        ("lagging", "Orders", now - timedelta(hours=2, minutes=5)),  # the oldest one left
        ("failing", "INBOX", None),
    ]
    for key, folder, pending_since in cursors:
        FolderCursor.objects.create(
            account=accounts[key], folder=folder, uidvalidity=1, pending_since=pending_since
        )
    FolderCursor.objects.filter(account=accounts["failing"]).update(
        updated_at=now - timedelta(minutes=40)
    )
    for step in range(288, 0, -1):  # every 5 minutes over the last day
        OpsSample.objects.create(
            taken_at=now - timedelta(minutes=5 * step),
            data={
                "max_lag": (step % 48) * 60,
                "failing": 1 if step < 10 else 0,
                "quarantined": 0,
                "send_queue": step % 3,
                "celery_queue": (step * 7) % 11,
                "imported_total": 1000 + step * (288 - step),
            },
        )
    sample_record(now)
    for task in PeriodicTask.objects.all():
        PeriodicTask.objects.filter(pk=task.pk).update(
            last_run_at=now - timedelta(seconds=30), total_run_count=120
        )
        JobOutcome.objects.create(
            name=task.name, finished_at=now - timedelta(seconds=29), ok=True, seconds=0.2
        )
    return accounts
