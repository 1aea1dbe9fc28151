"""Resetting where fetching stands, for "fetch again from this date"."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from mailboxes.exceptions import MailError
from mailboxes.intake.locking import account_fetch_lock
from mailboxes.messages import FETCH_RUNNING
from mailboxes.models import FolderCursor, MailAccount


def account_reset_cursor(account: MailAccount, *, since: date) -> int:
    """Forget the fetch cursors so the next fetch starts again at ``since``.

    Messages fetched before are recognised by Message-ID and not imported twice. Waits for a
    running fetch of the account to finish, so that fetch cannot write an old cursor back.
    Returns the number of cursors reset.
    """
    with account_fetch_lock(account.pk, wait=30) as acquired:
        if not acquired:
            raise MailError(FETCH_RUNNING())
        with transaction.atomic():
            MailAccount.objects.filter(pk=account.pk).update(fetch_since=since)
            deleted, _rows = FolderCursor.objects.filter(account_id=account.pk).delete()
    account.fetch_since = since
    return deleted
