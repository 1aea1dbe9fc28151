"""From a published event to delivery rows, in the transaction that made the change; the
sending is queued for after the commit (a rolled-back change sends nothing, a committed one
is sent at least once)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from crm.models import Note
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.payloads import EVENT_SOURCES, visible_ids


def _matches(endpoint: WebhookEndpoint, obj) -> bool:
    """The endpoint's optional filter: a group account, a team (of the object or, for a
    note, of the record it is on)."""
    target = obj
    if isinstance(obj, Note):
        target = obj.parent
        if target is None:
            return False
    if endpoint.group_account_id:
        if hasattr(target, "accounts"):  # an email: the accounts it arrived through
            if not target.accounts.filter(pk=endpoint.group_account_id).exists():
                return False
        elif getattr(target, "group_account_id", None) != endpoint.group_account_id:
            return False
    if endpoint.team_id:
        teams = getattr(target, "teams", None)
        if teams is None or not teams.filter(pk=endpoint.team_id).exists():
            return False
    return True


def _visible(endpoint: WebhookEndpoint, objects: list) -> list:
    """The objects the endpoint's owner may see (a note: when they may see its record)."""
    if isinstance(objects[0], Note):
        result = []
        for note in objects:
            model = ContentType.objects.get_for_id(note.parent_type_id).model_class()
            if model is not None and visible_ids(model, [note.parent_id], endpoint.owner):
                result.append(note)
        return result
    allowed = visible_ids(type(objects[0]), [obj.pk for obj in objects], endpoint.owner)
    return [obj for obj in objects if obj.pk in allowed]


def _active_endpoints(memo: dict | None) -> list[WebhookEndpoint]:
    """The active endpoints with their owners: one query, or none when the publisher's run
    (a fetch) read them already for an earlier event."""
    if memo is not None and "webhooks.endpoints" in memo:
        return memo["webhooks.endpoints"]
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).select_related("owner"))
    if memo is not None:
        memo["webhooks.endpoints"] = endpoints
    return endpoints


def on_event_published(sender: str, objects: list, memo: dict | None = None, **kwargs) -> None:
    """Receiver of ``crm.events.event_published``: one delivery per endpoint and object."""
    source = EVENT_SOURCES.get(sender)
    if source is None:
        return
    endpoints = [endpoint for endpoint in _active_endpoints(memo) if sender in endpoint.events]
    if not endpoints:
        return
    _label, build = source
    deliveries = []
    now = timezone.now()
    for endpoint in endpoints:
        for obj in _visible(endpoint, objects):
            if not _matches(endpoint, obj):
                continue
            delivery = WebhookDelivery(endpoint=endpoint, event=sender, next_attempt_at=now)
            delivery.payload = {
                "id": str(delivery.id),
                "event": sender,
                "created_at": now.isoformat(),
                "data": build(obj, endpoint.owner),
            }
            deliveries.append(delivery)
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        ids = [str(d.id) for d in deliveries]
        transaction.on_commit(lambda: _queue(ids), robust=True)


def _queue(ids: list[str]) -> None:
    from webhooks.tasks import deliver_webhook

    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
