"""DRF permissions: signed in, and a read-only key never writes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiKey
from crm.access import is_admin


class KeyMayWrite(BasePermission):
    """Refuse unsafe methods to a read-only API key."""

    message = _("This API key is read-only.")

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return not (isinstance(request.auth, ApiKey) and request.auth.read_only)


class IsAdministrator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)
