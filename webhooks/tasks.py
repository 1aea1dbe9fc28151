"""Celery tasks: thin wrappers taking ids; the work is in webhooks/sending.py."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    from webhooks.sending import delivery_attempt

    delivery_attempt(delivery_id)


@shared_task(name="webhooks.deliveries_due", ignore_result=True)
def send_due_webhooks() -> None:
    from webhooks.sending import deliveries_due

    deliveries_due()
