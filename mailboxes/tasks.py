"""Celery tasks: thin wrappers taking ids; the work is in mailboxes/intake/."""

from __future__ import annotations

from celery import shared_task

from mailboxes.models import MailAccount


@shared_task(name="mailboxes.fetch_account", ignore_result=True)
def fetch_account(account_id: int, notify: bool | None = None) -> dict:
    from mailboxes.intake.fetch import fetch_account as fetch

    return fetch(account_id, notify=notify).as_dict()


def _fan_out(kind: str) -> int:
    from mailboxes.intake.health import accounts_due_for_fetch

    ids = list(accounts_due_for_fetch(kind).values_list("id", flat=True))
    for account_id in ids:
        fetch_account.delay(account_id)
    return len(ids)


@shared_task(name="mailboxes.poll_group_accounts", ignore_result=True)
def poll_group_accounts() -> int:
    return _fan_out(MailAccount.Kind.GROUP)


@shared_task(name="mailboxes.poll_personal_accounts", ignore_result=True)
def poll_personal_accounts() -> int:
    return _fan_out(MailAccount.Kind.PERSONAL)


@shared_task(name="mailboxes.send_hourly_digests", ignore_result=True)
def send_hourly_digests() -> int:
    from mailboxes.digest import notification_digests_send

    return notification_digests_send(frequency="hourly")


@shared_task(name="mailboxes.send_daily_digests", ignore_result=True)
def send_daily_digests() -> int:
    from mailboxes.digest import notification_digests_send

    return notification_digests_send(frequency="daily")
