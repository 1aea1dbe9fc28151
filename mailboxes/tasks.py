"""Celery tasks: thin wrappers taking ids; the work is in mailboxes/intake/."""

from __future__ import annotations

import logging

from celery import shared_task

from mailboxes.models import MailAccount

logger = logging.getLogger(__name__)


# An urgent fetch that finds another fetch of the account running tries again this often:
# the running one may have looked before the mail arrived, and polls leave watched accounts
# alone for a long while.
LOCKED_RETRY_SECONDS = 2
LOCKED_RETRIES = 60


@shared_task(bind=True, name="mailboxes.fetch_account", ignore_result=True)
def fetch_account(self, account_id: int, notify: bool | None = None, urgent: bool = False) -> dict:
    """Queued by mailboxes.intake.queueing (``urgent``: on the fetch_now queue)."""
    from mailboxes.intake.fetch import fetch_account as fetch
    from mailboxes.intake.queueing import fetch_started

    fetch_started(account_id, urgent=urgent)
    summary = fetch(account_id, notify=notify, urgent=urgent)
    if summary.locked and urgent and self.request.retries < LOCKED_RETRIES:
        logger.info(
            "Account %s is being fetched already; fetching again in %ss",
            account_id,
            LOCKED_RETRY_SECONDS,
        )
        raise self.retry(countdown=LOCKED_RETRY_SECONDS, max_retries=LOCKED_RETRIES)
    return summary.as_dict()


@shared_task(name="mailboxes.import_archive", ignore_result=True)
def import_archive(import_id: int) -> str:
    """Import an uploaded archive (mailboxes/intake/importing.py); run again after a worker
    died, it resumes after the last committed batch."""
    from mailboxes.intake.importing import mail_import_run
    from mailboxes.models import MailImport

    if not MailImport.objects.filter(pk=import_id).exists():
        logger.warning("Import %s does not exist", import_id)
        return "gone"
    return mail_import_run(import_id).status


def _fan_out(kind: str) -> int:
    from mailboxes.intake.queueing import accounts_to_poll, fetch_enqueue

    ids = list(accounts_to_poll(kind).order_by("pk").values_list("id", flat=True))
    return len(fetch_enqueue(ids, urgent=False))


@shared_task(name="mailboxes.poll_group_accounts", ignore_result=True)
def poll_group_accounts() -> int:
    return _fan_out(MailAccount.Kind.GROUP)


@shared_task(name="mailboxes.poll_personal_accounts", ignore_result=True)
def poll_personal_accounts() -> int:
    return _fan_out(MailAccount.Kind.PERSONAL)


# --- sending (mailboxes/sending/) -------------------------------------------------------------


@shared_task(bind=True, name="mailboxes.send_email", ignore_result=True, max_retries=None)
def send_email(self, email_id: int) -> str:
    """One delivery attempt; temporary failures come back here after the back-off. Safe to
    run twice: see the guarantee in mailboxes/sending/delivery.py."""
    from mailboxes.sending.delivery import email_deliver

    outcome = email_deliver(email_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(bind=True, name="mailboxes.store_sent_email", ignore_result=True, max_retries=None)
def store_sent_email(self, email_id: int) -> str:
    """APPEND the sent bytes to the account's Sent folder ("store sent emails")."""
    from mailboxes.sending.store_sent import email_store_sent_copy

    outcome = email_store_sent_copy(email_id, attempt=self.request.retries + 1)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="mailboxes.sending_recover", ignore_result=True)
def sending_recover() -> dict:
    """Periodic: fail sends whose worker never reported back, re-queue overdue ones."""
    from mailboxes.sending.delivery import sending_recover as recover

    return recover()


@shared_task(name="mailboxes.send_scheduled_emails", ignore_result=True)
def send_scheduled_emails() -> int:
    """Periodic: send the scheduled emails whose time has come (send later, undo send)."""
    from mailboxes.sending.scheduling import scheduled_send_due

    return scheduled_send_due()


@shared_task(name="mailboxes.send_hourly_digests", ignore_result=True)
def send_hourly_digests() -> int:
    from mailboxes.notes.digest import notification_digests_send

    return notification_digests_send(frequency="hourly")


@shared_task(name="mailboxes.send_daily_digests", ignore_result=True)
def send_daily_digests() -> int:
    from mailboxes.notes.digest import notification_digests_send

    return notification_digests_send(frequency="daily")


@shared_task(name="mailboxes.search_index_missing", ignore_result=True)
def search_index_missing() -> int:
    """Index emails that have no search document yet (written before the index existed)."""
    from mailboxes.inbox.search_index import index_missing

    return index_missing()
