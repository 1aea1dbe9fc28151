"""Sending one delivery: sign, POST, record the outcome, schedule the retry.

The signature follows Stripe and GitHub: ``Postaci-Signature: t=<unix time>,v1=<hex>``,
where ``v1`` is HMAC-SHA256 with the endpoint's secret over ``"<t>.<body>"``. A receiver
recomputes it, compares in constant time and refuses an old ``t`` (replays).
``Postaci-Delivery`` is the delivery's id: the same on every attempt, so a receiver can
drop a delivery it has seen (the sending is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from urllib.parse import SplitResult, urlsplit

import urllib3
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from crm.models import Notification
from mailboxes.connection.hosts import checked_addresses
from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from webhooks.messages import ENDPOINT_DISABLED
from webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Postaci-Signature"
DELIVERY_HEADER = "Postaci-Delivery"
EVENT_HEADER = "Postaci-Event"
# error codes stored on a delivery (shown translated in the log)
TIMEOUT, CONNECTION, HOST_NOT_ALLOWED, HTTP_STATUS = "timeout", "connection", "host", "http"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` value: HMAC-SHA256 over ``"<timestamp>.<body>"``, hex."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def url_check(url: str) -> str:
    """Refuse a URL pointing into private networks (the mail hosts' SSRF guard and its
    allow-list); raises ``MailHostNotAllowed`` or ``MailConnectionError``. Returns the
    address checked, the one to connect to."""
    parts = urlsplit(url)
    return checked_addresses(parts.hostname or "", _port(parts))[0]


def _port(parts: SplitResult) -> int:
    """The port a webhook URL names, else its scheme's: the one checked is the one used."""
    return parts.port or _default_port(parts)


def _default_port(parts: SplitResult) -> int:
    return 443 if parts.scheme == "https" else 80


def pinned_post(url: str, address: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url`` over a connection to ``address``, the address the SSRF guard
    checked: the name is not resolved a second time, so a DNS answer that changes between
    the check and the connection (DNS rebinding) cannot point the request inside. The Host
    header, TLS SNI and certificate check still use the URL's host name. Raises urllib3's
    errors; returns the status code (redirects are not followed)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = _port(parts)
    timeout = urllib3.Timeout(total=settings.POSTACI_WEBHOOK_TIMEOUT)
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False,
            server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    host_header = host if ":" not in host else f"[{host}]"
    if port != _default_port(parts):
        host_header = f"{host_header}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool:
        response = pool.urlopen(
            "POST", target, body=body, headers={"Host": host_header, **headers},
            redirect=False, preload_content=True,
        )  # fmt: skip
    return response.status


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt: doubling from the first delay, up to the maximum."""
    base = settings.POSTACI_WEBHOOK_RETRY_DELAY
    return min(base * 2 ** max(attempts - 1, 0), settings.POSTACI_WEBHOOK_RETRY_MAX_DELAY)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    endpoint = delivery.endpoint
    try:
        address = url_check(endpoint.url)
    except MailHostNotAllowed:
        return None, HOST_NOT_ALLOWED
    except MailConnectionError:
        return None, CONNECTION
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Postaci-Webhooks/1",
        DELIVERY_HEADER: str(delivery.id),
        EVENT_HEADER: delivery.event,
        SIGNATURE_HEADER: signature_header(endpoint.secret, timestamp, body),
    }
    try:
        code = pinned_post(endpoint.url, address, body, headers)
    except urllib3.exceptions.TimeoutError:
        return None, TIMEOUT
    except urllib3.exceptions.HTTPError:
        return None, CONNECTION
    return code, "" if 200 <= code < 300 else HTTP_STATUS


def delivery_attempt(delivery_id: str, *, again: bool = False) -> WebhookDelivery | None:
    """Try one delivery (unless done, or its endpoint is off); ``again``: also a delivered or
    failed one ("send again" in the log). Returns the delivery, or None when skipped.

    The row is locked while sending, so two workers never send it at once: a second one
    waits for the first (never longer than a timeout) and then finds it delivered. It does not
    skip a locked row: the lock may be the last breath of a killed worker whose attempt is
    being rolled back, and this is then the attempt that must send.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "endpoint__owner")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or not delivery.endpoint.is_active:
            return None
        if delivery.status != WebhookDelivery.Status.PENDING and not again:
            return None
        code, error = _post(delivery)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        endpoint = delivery.endpoint
        if not error:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at, delivery.next_attempt_at = now, None
            if endpoint.failing_since is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        else:
            _failed(delivery, endpoint, now)
        delivery.save()
    if delivery.status == WebhookDelivery.Status.PENDING and delivery.next_attempt_at:
        _queue_retry(delivery)
    return delivery


def _failed(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    limit = timedelta(seconds=settings.POSTACI_WEBHOOK_DISABLE_AFTER)
    if now - endpoint.failing_since >= limit:
        endpoint_disable(endpoint, delivery)
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    elif delivery.attempts >= settings.POSTACI_WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    else:
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))


def endpoint_disable(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    """Turn off an endpoint failing for too long and tell its owner."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    endpoint.is_active = False
    error = delivery.last_error
    if delivery.last_status_code:
        error = f"HTTP {delivery.last_status_code}"
    Notification.objects.create(
        user=endpoint.owner,
        type=Notification.Type.MESSAGE,
        message=ENDPOINT_DISABLED(name=endpoint.name, error=error),
        related_type=ContentType.objects.get_for_model(WebhookEndpoint),
        related_id=endpoint.pk,
        data={"kind": "webhook"},
    )


def _queue_retry(delivery: WebhookDelivery) -> None:
    from webhooks.tasks import deliver_webhook

    delay = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 0)
    try:
        deliver_webhook.apply_async((str(delivery.id),), countdown=delay)
    except Exception:  # the broker is down: the sweep below sends it later
        logger.warning("Could not queue the retry of webhook delivery %s", delivery.id)


def deliveries_due() -> int:
    """Queue every pending delivery whose time has come (beat runs this as a safety net:
    a lost task or a broker outage only delays a delivery)."""
    from webhooks.tasks import deliver_webhook

    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=timezone.now() - timedelta(minutes=1),
        endpoint__is_active=True,
    ).values_list("pk", flat=True)[:1000]
    count = 0
    for delivery_id in due:
        deliver_webhook.delay(str(delivery_id))
        count += 1
    return count
