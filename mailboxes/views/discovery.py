"""Settings discovery for the account forms: ``GET …/accounts/discover/?address=…`` → JSON.

Who may ask: signed-in users who may add a personal account, and administrators (group
accounts). Each user may ask ``RATE_LIMIT`` times a minute; the form asks once per address
change and the answers are cached per domain (mailboxes/connection/discovery.py). Every
answer, errors included, is JSON with a ``message`` in the user's language.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm.access import is_admin
from mailboxes.access import may_have_personal_accounts
from mailboxes.connection.discovery import (
    DiscoveredSettings,
    ServerSettings,
    Source,
    address_domain,
    discover_settings,
)

RATE_LIMIT = 30  # look-ups per user and minute

SOURCE_PHRASES = {
    Source.TABLE: gettext_lazy("from Postaci's list of mail providers"),
    Source.SRV: gettext_lazy("from the domain's SRV records in DNS"),
    Source.AUTOCONFIG: gettext_lazy("from the domain's autoconfiguration file"),
    Source.MX: gettext_lazy("from the domain's MX records"),
    Source.CONVENTION: gettext_lazy(
        "guessed from the usual mail.%(domain)s name; check it with your hosting provider"
    ),
}


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _throttled(user_id: int) -> bool:
    """More than ``RATE_LIMIT`` look-ups in the minute since the user's first one."""
    key = f"postaci:discovery-rate:{user_id}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        return cache.incr(key) > RATE_LIMIT
    except ValueError:  # the minute ended between add and incr
        return False


def _server(server: ServerSettings | None, address: str) -> dict | None:
    if server is None:
        return None
    return {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": server.username(address),
    }


def discovered_json(found: DiscoveredSettings, address: str) -> dict:
    """What the account form's script reads (see static/js/account_discovery.js)."""
    source = SOURCE_PHRASES[found.source] % {"domain": found.domain}
    return {
        "found": True,
        "provider": found.display_name,
        "source": str(found.source),
        "oauth_kind": found.oauth_kind,
        "imap": _server(found.imap, address),
        "smtp": _server(found.smtp, address),
        "message": _("Settings found for %(provider)s (%(source)s). Check them before saving.")
        % {"provider": found.display_name, "source": source},
    }


@require_GET
def account_discover(request: HttpRequest) -> JsonResponse:
    """Suggest IMAP/SMTP settings for the ``address`` the account form holds."""
    user = request.user
    if not user.is_authenticated:
        return _error("login", _("Your session has ended; sign in again."), 401)
    if not (is_admin(user) or may_have_personal_accounts(user)):
        return _error("forbidden", _("You may not add email accounts."), 403)
    address = request.GET.get("address", "").strip()
    try:
        validate_email(address)
    except ValidationError:
        address = ""
    domain = address_domain(address) if address else None
    if domain is None:
        return _error(
            "address", _("Enter a complete email address, such as name@example.com."), 400
        )
    if _throttled(user.pk):
        return _error("throttled", _("Too many look-ups; wait a minute and try again."), 429)
    found = discover_settings(address)
    if found is None:
        return JsonResponse(
            {
                "found": False,
                "message": _("No settings were found for %(domain)s; enter them by hand.")
                % {"domain": address.rpartition("@")[2]},
            }
        )
    return JsonResponse(discovered_json(found, address))
