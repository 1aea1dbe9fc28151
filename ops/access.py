"""Who may read ``/metrics``: a bearer token (``POSTACI_METRICS_TOKEN``) or a client address
in ``POSTACI_METRICS_ALLOW`` (addresses or networks). Neither set: nobody."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.POSTACI_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    allowed = settings.POSTACI_METRICS_ALLOW
    if not allowed:
        return False
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for entry in allowed:
        try:
            if client in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
