"""Fetch health of an account: last success, last error, failures, retry back-off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.messages import Message
from mailboxes.messages import FETCH_FAILING, OAUTH_RECONNECT_NEEDED
from mailboxes.models import MailAccount

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600


def retry_delay(failures: int) -> timedelta:
    """1, 2, 4, … minutes after each consecutive failure, at most an hour."""
    return timedelta(seconds=min(60 * 2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS))


@contextmanager
def commit_without_flush() -> Iterator[None]:
    """A transaction whose COMMIT does not wait for the disk (PostgreSQL's asynchronous
    commit: the write-ahead log is flushed a moment later), for a fetch's own bookkeeping:
    the queue mark a task clears when it starts, the time of the last fetch. A flush waits
    behind every write of every database on the server (4 – 5 ms on the loaded development
    machine, 0.1 ms on a quiet one), twice per one-message fetch besides the import's own
    commit; a database crash in that moment loses only the newest bookkeeping (a fetch
    queued again, or a mark that expires after ``QUEUED_EXPIRY``), never mail, which
    commits as before. Inside a caller's transaction (an eager task) it changes nothing."""
    if transaction.get_connection().in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def account_record_success(account: MailAccount) -> None:
    """The fetch went through: no back-off, no error count (bookkeeping: see
    ``commit_without_flush``)."""
    with commit_without_flush():
        _record_success(account)


def _record_success(account: MailAccount) -> None:
    MailAccount.objects.filter(pk=account.pk).update(
        last_fetch_at=timezone.now(),
        consecutive_failures=0,
        next_retry_at=None,
        failure_notified_at=None,
    )


def account_record_failure(account: MailAccount, error: Message) -> None:
    """Store the error, schedule the retry, and tell the people who can fix it once the
    failures reach ``POSTACI_FAILURE_NOTIFY_THRESHOLD`` (once per outage, not per poll)."""
    now = timezone.now()
    MailAccount.objects.filter(pk=account.pk).update(
        last_error=error,
        last_error_at=now,
        consecutive_failures=F("consecutive_failures") + 1,
    )
    account.refresh_from_db(fields=["consecutive_failures", "failure_notified_at"])
    MailAccount.objects.filter(pk=account.pk).update(
        next_retry_at=now + retry_delay(account.consecutive_failures)
    )
    if (
        account.consecutive_failures >= settings.POSTACI_FAILURE_NOTIFY_THRESHOLD
        and account.failure_notified_at is None
    ):
        claimed = MailAccount.objects.filter(
            pk=account.pk, failure_notified_at__isnull=True
        ).update(failure_notified_at=now)
        if claimed:
            _notify_failure(account.specific, error)


def account_record_reconnect_needed(account_id: int, reason: str) -> bool:
    """The provider refused the account's grant (``invalid_grant``): mark it "Reconnect
    needed" with the provider's words, stop polling it, and notify the people who can
    reconnect it, once per outage. True when this call made the change."""
    from mailboxes.models import OAuthState

    now = timezone.now()
    claimed = MailAccount.objects.filter(pk=account_id, oauth_state=OAuthState.CONNECTED).update(
        oauth_state=OAuthState.RECONNECT_NEEDED,
        oauth_state_params={"reason": reason[:500]},
        oauth_access_token="",
        oauth_refresh_token="",
        oauth_expires_at=None,
        oauth_refresh_at=None,
        last_error_at=now,
        failure_notified_at=now,
    )
    if claimed:
        account = MailAccount.objects.get(pk=account_id).specific
        _notify(
            account,
            OAUTH_RECONNECT_NEEDED(name=account.name, reason=reason),
            kind="oauth_reconnect",
        )
    return bool(claimed)


def _notify_failure(account, error: Message) -> None:
    message = FETCH_FAILING(name=account.name, count=account.consecutive_failures, error=error)
    _notify(account, message, kind="fetch_failure")


def _notify(account, message: Message, *, kind: str) -> None:
    """A notification for the people who can fix the account: its owner (personal) or the
    administrators (group)."""
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Notification, User

    if account.is_group:
        users = list(User.objects.filter(is_superuser=True, is_active=True))
    else:
        users = [account.owner] if account.owner.is_active else []

    account_type = ContentType.objects.get_for_model(type(account))
    Notification.objects.bulk_create(
        Notification(
            user=user,
            type=Notification.Type.MESSAGE,
            message=message,
            related_type=account_type,
            related_id=account.pk,
            data={"kind": kind},
        )
        for user in users
    )


def account_request_fetch(account: MailAccount) -> None:
    """Fetch the account as soon as the current transaction commits (after it is saved:
    its first fetch, or a reconnect with new settings, should not wait for the next poll).

    Any back-off of past failures is forgotten, and the account page shows "Fetching…"
    until the fetch ends. A broker that cannot be reached only delays the fetch to the next
    poll; the save itself stands.
    """
    MailAccount.objects.filter(pk=account.pk).update(
        fetch_requested_at=timezone.now(), next_retry_at=None
    )
    transaction.on_commit(lambda: _enqueue_fetch(account.pk))


def _enqueue_fetch(account_id: int) -> None:
    from mailboxes.intake.queueing import fetch_enqueue

    try:
        fetch_enqueue([account_id], urgent=True)
    except OperationalError:
        # nothing is fetching it now: the account page must not keep saying "Fetching…"
        MailAccount.objects.filter(pk=account_id).update(fetch_requested_at=None)


def accounts_due_for_fetch(kind: str):
    """Active accounts of one kind whose back-off (if any) has passed; an OAuth account
    that is not connected (or needs reconnecting) waits for someone to connect it."""
    now = timezone.now()
    return (
        MailAccount.objects.filter(kind=kind, status=MailAccount.Status.ACTIVE, use_imap=True)
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        .exclude(oauth_signed_out())
    )


def oauth_signed_out() -> Q:
    """OAuth accounts without a working grant: polls and the IDLE watcher leave them be."""
    from mailboxes.models import AuthMethod, OAuthState

    return Q(auth_method=AuthMethod.OAUTH) & ~Q(oauth_state=OAuthState.CONNECTED)
