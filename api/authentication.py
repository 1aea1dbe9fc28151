"""DRF authentication by API key: ``Authorization: Bearer <key>``, ``Authorization: Api-Key
<key>`` or an ``Api-Key: <key>`` header."""

from __future__ import annotations

import contextlib
import zoneinfo

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from api.keys import api_key_check

SCHEMES = ("bearer", "api-key")


def key_from_request(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() in SCHEMES and value.strip():
        return value.strip()
    return request.headers.get("Api-Key") or None


def use_owner_preferences(request, user) -> None:
    """Answer in the key owner's language and time zone, as the pages do for a signed-in
    user (crm.middleware runs before DRF knows who a key belongs to): messages, notification
    texts and the day a date filter means are the owner's, not the server's."""
    if user.language:
        translation.activate(user.language)
        request._request.LANGUAGE_CODE = user.language
    if user.time_zone:
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = key_from_request(request)
        if raw is None:
            return None
        key = api_key_check(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked API key."))
        use_owner_preferences(request, key.user)
        return key.user, key

    def authenticate_header(self, request) -> str:
        # a 401 (not 403) for a missing or bad key
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Postaci API key"}
