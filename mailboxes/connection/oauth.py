"""OAuth 2.0 client side: provider presets, the authorization URL (PKCE S256, signed state),
code exchange, refresh, client credentials, revocation and the address the provider confirmed.

Every HTTP exchange goes through Authlib's requests client with a short timeout; endpoints
must be ``https`` unless their host is in ``POSTACI_MAIL_HOST_ALLOWLIST`` (the test provider
runs on loopback http), and the SSRF guard refuses hosts in private networks. Secrets are
never put in an exception's text: errors carry the provider's error code and description.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mailboxes.connection.hosts import check_mail_host
from mailboxes.exceptions import MailError
from mailboxes.messages import (
    OAUTH_HTTPS_REQUIRED,
    OAUTH_NOT_REVOKED,
    OAUTH_REFUSED,
    OAUTH_REFUSED_REQUEST,
    OAUTH_UNEXPECTED,
    OAUTH_UNREACHABLE,
)

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

# requests and Authlib (with joserfc and cryptography's JOSE) are imported by the functions
# that talk to a provider: a fetch or a page that never does starts without them.

GOOGLE, MICROSOFT, GENERIC = "google", "microsoft", "generic"
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
STATE_SALT = "mailboxes.oauth.state"
STATE_MAX_AGE = 15 * 60  # seconds a sign-in at the provider may take


@dataclass(frozen=True)
class Preset:
    """What Postaci knows about a big provider: endpoints, scopes and mail servers."""

    authorize_url: str
    token_url: str
    revoke_url: str
    userinfo_url: str
    scopes: str
    imap: tuple[str, int, str]
    smtp: tuple[str, int, str]
    authorize_params: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    GOOGLE: Preset(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",  # noqa: S106 - an address
        revoke_url="https://oauth2.googleapis.com/revoke",
        userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
        scopes="https://mail.google.com/ openid email",
        imap=("imap.gmail.com", 993, "ssl"),
        smtp=("smtp.gmail.com", 587, "starttls"),
        # a refresh token is only handed out with offline access, and again only on consent
        authorize_params={"access_type": "offline", "prompt": "consent"},
    ),
    MICROSOFT: Preset(
        authorize_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",  # noqa: S106
        revoke_url="",  # no RFC 7009 endpoint: Disconnect forgets the tokens here
        userinfo_url="",  # the id_token carries the address
        scopes=(
            "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send offline_access openid email"
        ),
        imap=("outlook.office365.com", 993, "ssl"),
        smtp=("smtp.office365.com", 587, "starttls"),
        authorize_params={"prompt": "select_account"},
    ),
}


class OAuthError(MailError):
    """An OAuth exchange failed. ``code`` is ``invalid_grant`` (the grant is gone: the user
    must reconnect), ``endpoint`` (an endpoint is not allowed), ``unreachable`` or another
    OAuth error code; ``detail`` holds the provider's own words, never a secret."""

    code = "oauth"
    default_message = OAUTH_REFUSED_REQUEST()


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint answered, as Postaci stores it."""

    access_token: str = field(repr=False)
    expires_at: datetime | None
    refresh_token: str = field(default="", repr=False)
    address: str = ""


# --- Providers ------------------------------------------------------------------------------


def provider_fill_preset(provider) -> None:
    """Empty endpoints and scopes of a Google or Microsoft provider take the preset's."""
    preset = PRESETS.get(provider.kind)
    if preset is None:
        return
    if provider.kind == MICROSOFT and not provider.tenant:
        provider.tenant = "organizations"
    tenant = provider.tenant or "common"
    for name in ("authorize_url", "token_url", "revoke_url", "userinfo_url"):
        if not getattr(provider, name):
            setattr(provider, name, getattr(preset, name).replace("{tenant}", tenant))
    if not provider.scopes:
        provider.scopes = preset.scopes


def provider_scopes(provider) -> str:
    preset = PRESETS.get(provider.kind)
    return provider.scopes or (preset.scopes if preset else "openid email")


def mail_servers(kind: str) -> dict[str, Any]:
    """Account fields the preset fills (IMAP/SMTP host, port, security) for a provider kind."""
    preset = PRESETS.get(kind)
    if preset is None:
        return {}
    return {
        "imap_host": preset.imap[0],
        "imap_port": preset.imap[1],
        "imap_security": preset.imap[2],
        "smtp_host": preset.smtp[0],
        "smtp_port": preset.smtp[1],
        "smtp_security": preset.smtp[2],
    }


def check_endpoint(url: str) -> None:
    """Refuse an endpoint that is not https (unless allow-listed) or points inside."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    entries = {e.strip().lower() for e in settings.POSTACI_MAIL_HOST_ALLOWLIST}
    allowed = host.lower() in entries or f"{host.lower()}:{port}" in entries
    if (
        not host
        or parts.scheme not in ("https", "http")
        or (parts.scheme != "https" and not allowed)
    ):
        raise OAuthError(
            OAUTH_HTTPS_REQUIRED(url=url),
            code="endpoint",
        )
    check_mail_host(host, port)


def _session(provider, **kwargs) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        scope=provider_scopes(provider),
        token_endpoint_auth_method="client_secret_post" if provider.client_secret else "none",
        **kwargs,
    )
    return session


def _timeout() -> float:
    return settings.POSTACI_OAUTH_TIMEOUT


def _provider_error(exc: BaseException) -> OAuthError:
    """The provider's words as an ``OAuthError`` (no request body, so no secret, in it)."""
    import requests
    from authlib.common.errors import AuthlibBaseError

    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, AuthlibBaseError):
        code = getattr(exc, "error", "") or "oauth"
        words = " — ".join(x for x in (code, getattr(exc, "description", "") or "") if x)
        return OAuthError(
            OAUTH_REFUSED(reason=words),
            code=code,
            detail=words,
        )
    if isinstance(exc, requests.RequestException):
        return OAuthError(
            OAUTH_UNREACHABLE(reason=type(exc).__name__),
            code="unreachable",
            detail=type(exc).__name__,
        )
    return OAuthError(OAUTH_UNEXPECTED(), code="protocol", detail=repr(exc)[:200])


@sensitive_variables("token", "session")
def _token_request(provider, call) -> dict[str, Any]:
    import requests
    from authlib.common.errors import AuthlibBaseError

    check_endpoint(provider.token_url)
    session = _session(provider)
    try:
        with session:
            return dict(call(session))
    except (AuthlibBaseError, requests.RequestException, ValueError, KeyError) as exc:
        raise _provider_error(exc) from None


def _expires_at(token: dict[str, Any]) -> datetime | None:
    if token.get("expires_in") is not None:
        return timezone.now() + timedelta(seconds=int(token["expires_in"]))
    if token.get("expires_at") is not None:
        return datetime.fromtimestamp(int(token["expires_at"]), tz=timezone.utc)
    return None


# --- Authorization code with PKCE -----------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    code_verifier: str = field(repr=False)


def authorization_start(provider, *, account_id: int, user_id: int, redirect_uri: str):
    """The provider URL to send the browser to, with PKCE S256 and a signed ``state``
    naming the account and the user; the caller keeps ``code_verifier`` and the state's
    nonce in the user's session (single use)."""
    check_endpoint(provider.authorize_url)
    nonce = secrets.token_urlsafe(16)
    state = signing.dumps({"a": account_id, "u": user_id, "n": nonce}, salt=STATE_SALT)
    code_verifier = secrets.token_urlsafe(64)
    preset = PRESETS.get(provider.kind)
    extra = dict(preset.authorize_params) if preset else {}
    session = _session(provider, redirect_uri=redirect_uri, code_challenge_method="S256")
    url, _state = session.create_authorization_url(
        provider.authorize_url, state=state, code_verifier=code_verifier, **extra
    )
    return Authorization(url=url, state=state, code_verifier=code_verifier)


def state_read(state: str) -> dict[str, Any]:
    """The payload of a state this site signed, not older than ``STATE_MAX_AGE``; raises
    ``signing.BadSignature`` (or its subclass ``SignatureExpired``) otherwise."""
    return signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)


@sensitive_variables("code", "code_verifier", "token")
def authorization_finish(provider, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
    """Exchange the code for tokens and learn the address the provider confirmed."""
    token = _token_request(
        provider,
        lambda s: s.fetch_token(
            provider.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            timeout=_timeout(),
        ),
    )
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token", ""),
        expires_at=_expires_at(token),
        address=confirmed_address(provider, token),
    )


@sensitive_variables("refresh_token", "token")
def token_refresh(provider, refresh_token: str) -> TokenSet:
    """A new access token; a provider that rotates refresh tokens sends a new one too."""
    token = _token_request(
        provider,
        lambda s: s.refresh_token(
            provider.token_url, refresh_token=refresh_token, timeout=_timeout()
        ),
    )
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or refresh_token,
        expires_at=_expires_at(token),
    )


@sensitive_variables("token")
def client_credentials_token(provider) -> TokenSet:
    """An app-only access token (Microsoft shared mailboxes: ``…/.default`` scope)."""
    scope = MICROSOFT_APP_SCOPE if provider.kind == MICROSOFT else provider_scopes(provider)
    token = _token_request(
        provider,
        lambda s: s.fetch_token(
            provider.token_url, grant_type="client_credentials", scope=scope, timeout=_timeout()
        ),
    )
    return TokenSet(access_token=token["access_token"], expires_at=_expires_at(token))


@sensitive_variables("token")
def token_revoke(provider, token: str, hint: str = "refresh_token") -> bool:
    """Revoke at the provider (RFC 7009); False when it has no revocation endpoint."""
    import requests
    from authlib.common.errors import AuthlibBaseError

    if not provider.revoke_url or not token:
        return False
    check_endpoint(provider.revoke_url)
    try:
        with _session(provider) as session:
            response = session.revoke_token(
                provider.revoke_url, token=token, token_type_hint=hint, timeout=_timeout()
            )
    except (AuthlibBaseError, requests.RequestException) as exc:
        raise _provider_error(exc) from None
    if response.status_code >= 400:
        raise OAuthError(
            OAUTH_NOT_REVOKED(status=response.status_code),
            code="revoke",
        )
    return True


# --- Who signed in --------------------------------------------------------------------------


def _jwt_claims(id_token: str) -> dict[str, Any]:
    """The claims of an id_token received straight from the token endpoint over TLS.

    OpenID Connect Core 3.1.3.7 lets a client skip the signature check for an id_token
    it got directly from the token endpoint; it only tells us the address.
    """
    try:
        payload = id_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


@sensitive_variables("token")
def confirmed_address(provider, token: dict[str, Any]) -> str:
    """The mailbox address the provider vouches for: id_token, else the userinfo endpoint."""
    claims = _jwt_claims(token.get("id_token", "")) if token.get("id_token") else {}
    address = claims.get("email") or claims.get("preferred_username") or claims.get("upn")
    if not address and provider.userinfo_url:
        import requests

        check_endpoint(provider.userinfo_url)
        try:
            response = requests.get(
                provider.userinfo_url,
                headers={"Authorization": f"Bearer {token['access_token']}"},
                timeout=_timeout(),
            )
            if response.ok:
                info = response.json()
                address = info.get("email") or info.get("preferred_username")
        except (requests.RequestException, ValueError):
            address = ""
    return (address or "").strip().lower() if "@" in (address or "") else ""


# --- Providers from the environment ---------------------------------------------------------

PROVIDER_FIELDS = (
    "kind",
    "tenant",
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "revoke_url",
    "userinfo_url",
    "scopes",
)


def providers_from_environment(entries: list[dict[str, Any]]) -> list[str]:
    """Create or update a provider row per entry of ``POSTACI_OAUTH_PROVIDERS`` (matched by
    name), marked "from the environment"; return the names. Rows it no longer lists stay:
    accounts may still sign in with them."""
    from mailboxes.models import OAuthProvider

    names = []
    for entry in entries:
        name = str(entry.get("name") or "").strip()
        kind = entry.get("kind")
        if not name or kind not in OAuthProvider.Kind.values or not entry.get("client_id"):
            raise ValueError(f"POSTACI_OAUTH_PROVIDERS: {name or '?'} needs name, kind, client_id")
        provider = OAuthProvider.objects.filter(name=name).first() or OAuthProvider(name=name)
        for field_name in PROVIDER_FIELDS:
            if field_name in entry:
                setattr(provider, field_name, str(entry[field_name] or ""))
        provider.from_environment = True
        provider.save()
        names.append(name)
    return names
