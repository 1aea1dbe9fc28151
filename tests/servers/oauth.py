"""A real OAuth 2.0 authorization server for tests: oauthlib behind wsgiref, in threads.

    with OAuthServer(certificate) as oauth:
        alice = oauth.add_user("alice@example.test")
        client = oauth.add_client(redirect_uris=["http://127.0.0.1:8000/oauth/callback/"])
        ...  # the code under test sends the browser to oauth.endpoints.authorize
        location = oauth.approve(authorize_url, login=alice.address)  # or click "Allow"
        assert oauth.refreshes(client_id=client.client_id) == 1

It is not a Django app on purpose: the test process runs Django with the product's settings,
and the provider is another party. Endpoints (the last path segment decides, so a tenant-style
prefix such as ``/common/oauth2/v2.0/token`` works too):

    GET  /authorize     consent page: the account (prefilled), the client, the scopes,
                        "Allow" and "Deny" buttons
    POST /authorize     the decision: 302 to redirect_uri with code+state, or error=access_denied
    POST /token         authorization_code (PKCE S256 required), refresh_token (rotated: a used
                        refresh token is refused with invalid_grant), client_credentials;
                        client_secret_post or client_secret_basic
    POST /revoke        RFC 7009; revoking either token of a grant revokes the whole grant
    GET  /introspect    ``Authorization: Bearer <access token>``, as Dovecot asks
    POST /introspect    RFC 7662 form, the caller authenticated as a registered client
    GET  /userinfo      OpenID Connect userinfo (needs the ``openid`` scope)
    GET  /.well-known/openid-configuration

Token responses for the ``openid`` scope carry an ``id_token``: a JWT signed HS256 with the
client secret (OpenID Connect's symmetric option; ``alg: none`` for a public client) with
``email``, ``preferred_username``, ``name``, ``sub``, ``aud``, ``iss`` and ``nonce``.
Access tokens are opaque and live ``token_lifetime`` seconds (a few, so tests see expiry).
The server listens on plain HTTP (``url``) and, given a certificate, on HTTPS too
(``https_url``, ``localhost``), both serving the same state. Everything is thread-safe: one
lock serialises the token logic, so two concurrent refreshes with one refresh token give
exactly one success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import http.client
import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urljoin, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from oauthlib.common import Request as OAuthRequest
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import RequestValidator, Server
from oauthlib.oauth2.rfc6749 import errors

from .tls import TestCertificate

DEFAULT_TOKEN_LIFETIME = 5  # seconds: tests see tokens expire without waiting long
CODE_LIFETIME = 120
ALL_GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})
DEFAULT_SCOPES = ("openid", "email", "offline_access")


@dataclass(frozen=True)
class OAuthClient:
    """A registered client (an app such as Postaci). Change one with ``update_client``."""

    client_id: str
    client_secret: str | None  # None: a public client (no client authentication)
    redirect_uris: tuple[str, ...]
    name: str = "Postaci"
    token_lifetime: int | None = None  # access-token seconds; None: the server's default
    login: str | None = None  # the account prefilled on the consent page
    scopes: frozenset[str] | None = None  # the scopes it may ask for; None: any
    default_scopes: tuple[str, ...] = DEFAULT_SCOPES
    grant_types: frozenset[str] = ALL_GRANT_TYPES
    # client credentials: the mailbox its app tokens may open (Exchange Online's
    # Add-MailboxPermission for the app's service principal); None: no mailbox
    app_mailbox: str | None = None


@dataclass(frozen=True)
class OAuthUser:
    """An account at the provider; ``address`` is the login and the mailbox address."""

    address: str
    name: str
    sub: str  # the stable subject identifier of id_token and userinfo


@dataclass(frozen=True)
class OAuthEndpoints:
    """The URLs of one listener (plain HTTP or HTTPS)."""

    issuer: str
    authorize: str
    token: str
    revoke: str
    introspect: str
    userinfo: str
    metadata: str


@dataclass(frozen=True)
class TokenRequest:
    """One request to the token endpoint, as answered."""

    grant_type: str
    client_id: str | None
    user: str | None  # the address the grant is for, when the server could tell
    status: int
    error: str | None  # the OAuth error code answered, "injected" for fail_token_requests

    @property
    def succeeded(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Introspection:
    """One introspection (GET with a bearer token as Dovecot asks, or an RFC 7662 POST)."""

    method: str
    user: str | None
    client_id: str | None  # the token's client
    active: bool


@dataclass(frozen=True)
class Revocation:
    client_id: str | None
    user: str | None
    revoked: bool  # False: the token was unknown or another client's (still answered 200)


@dataclass
class _Grant:
    """One consent (or one client-credentials issue); its tokens live and die with it."""

    id: str
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Code:
    code: str
    grant_id: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    challenge_method: str | None
    nonce: str | None
    expires_at: float
    used: bool = False


@dataclass
class _AccessToken:
    token: str
    grant_id: str
    issued_at: float
    expires_at: float


@dataclass
class _RefreshToken:
    token: str
    grant_id: str
    used: bool = False


@dataclass
class _Failure:
    status: int
    client_id: str | None


@dataclass
class _State:
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    users: dict[str, OAuthUser] = field(default_factory=dict)
    grants: dict[str, _Grant] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    access_tokens: dict[str, _AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, _RefreshToken] = field(default_factory=dict)
    failures: list[_Failure] = field(default_factory=list)
    token_requests: list[TokenRequest] = field(default_factory=list)
    introspections: list[Introspection] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)


class OAuthServer:
    """The authorization server: clients, users, tokens, switches and counters.

    ``start()`` serves it on free loopback ports in daemon threads; ``stop()`` ends them.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        certificate: TestCertificate | None = None,
        *,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        self.certificate = certificate
        self.token_lifetime = token_lifetime
        self.url = ""  # http://127.0.0.1:<port>, set by start()
        self.https_url: str | None = None  # https://localhost:<port> with a certificate
        self._lock = threading.RLock()
        self._state = _State()
        validator = _Validator(self)
        self._oauth = Server(validator, token_expires_in=self._lifetime_for)
        self._oauth.auth_grant.custom_validators.post_auth.append(_require_s256)
        self._oauth.auth_grant.register_token_modifier(self._add_id_token)
        self._oauth.refresh_grant.register_token_modifier(self._add_id_token)
        self._listeners: list[tuple[_HTTPServer, threading.Thread]] = []

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> OAuthServer:
        self.url = self._listen(None)
        if self.certificate is not None:
            self.https_url = self._listen(self.certificate.server_context())
        return self

    def stop(self) -> None:
        for server, thread in self._listeners:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._listeners.clear()

    def __enter__(self) -> OAuthServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _listen(self, context: ssl.SSLContext | None) -> str:
        server = _HTTPServer((self.host, 0), _QuietHandler)
        server.set_app(self._wsgi)
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.base_environ["HTTPS"] = "on"  # wsgiref's url_scheme then says https
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        thread.start()
        self._listeners.append((server, thread))
        port = server.server_address[1]
        return f"https://localhost:{port}" if context else f"http://{self.host}:{port}"

    @property
    def endpoints(self) -> OAuthEndpoints:
        """The plain-HTTP URLs (Dovecot and the SMTP server introspect here)."""
        return _endpoints(self.url)

    @property
    def https_endpoints(self) -> OAuthEndpoints:
        """The HTTPS URLs (``localhost``, the test certificate)."""
        assert self.https_url, "started without a certificate"
        return _endpoints(self.https_url)

    # --- clients and users ------------------------------------------------------------------

    def add_client(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = "",
        redirect_uris: Iterable[str] = ("http://127.0.0.1/oauth/callback",),
        **options: Any,
    ) -> OAuthClient:
        """Register a client; ``client_secret=""`` makes a random one, ``None`` a public one.

        ``options`` are the other ``OAuthClient`` fields (name, token_lifetime, login, ...).
        """
        client = OAuthClient(
            client_id=client_id or f"client-{secrets.token_hex(4)}",
            client_secret=(secrets.token_urlsafe(24) if client_secret == "" else client_secret),
            redirect_uris=tuple(redirect_uris),
            **options,
        )
        with self._lock:
            self._state.clients[client.client_id] = client
        return client

    def update_client(self, client_id: str, **changes: Any) -> OAuthClient:
        """Change a registered client, e.g. ``update_client(cid, token_lifetime=2)``."""
        if "redirect_uris" in changes:
            changes["redirect_uris"] = tuple(changes["redirect_uris"])
        with self._lock:
            client = replace(self._state.clients[client_id], **changes)
            self._state.clients[client_id] = client
        return client

    def remove_client(self, client_id: str) -> None:
        """Forget a client: its tokens stop working (an app deleted at the provider)."""
        with self._lock:
            self._state.clients.pop(client_id, None)

    def add_user(self, address: str | None = None, *, name: str | None = None) -> OAuthUser:
        """Create an account (a random ``o-…@example.test`` address unless given)."""
        address = address or f"o-{secrets.token_hex(4)}@example.test"
        user = OAuthUser(
            address=address,
            name=name or address.split("@")[0].title(),
            sub=hashlib.sha256(address.lower().encode()).hexdigest()[:24],
        )
        with self._lock:
            self._state.users[address.lower()] = user
        return user

    def user(self, address: str) -> OAuthUser | None:
        with self._lock:
            return self._state.users.get(address.lower())

    # --- tokens without the HTTP round trip -------------------------------------------------

    def issue_tokens(
        self, client_id: str, address: str, scopes: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Return a token response (access_token, refresh_token, expires_in, scope, id_token
        for openid) as if *address* had consented to *client_id*; not counted as a request.
        """
        with self._lock:
            client = self._state.clients[client_id]
            user = self._state.users[address.lower()]
            grant = self._new_grant(client_id, user.address, scopes or client.default_scopes)
            lifetime = client.token_lifetime or self.token_lifetime
            token: dict[str, Any] = {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": " ".join(grant.scopes),
                "refresh_token": secrets.token_urlsafe(32),
            }
            self._store_tokens(token, grant.id)
            if "openid" in grant.scopes:
                token["id_token"] = self._id_token(client, user, self.url, nonce=None)
            return token

    def is_active(self, access_token: str) -> bool:
        """Whether an access token is valid right now (not expired, not revoked)."""
        with self._lock:
            return self._access_claims(access_token) is not None

    # --- switches ---------------------------------------------------------------------------

    def revoke_user(self, address: str) -> int:
        """Withdraw every consent of *address*: its tokens stop working at once and refreshing
        answers invalid_grant (the user removed the app at the provider). Return how many
        grants were revoked."""
        with self._lock:
            revoked = 0
            for grant in self._state.grants.values():
                if grant.user and grant.user.lower() == address.lower() and not grant.revoked:
                    grant.revoked = True
                    revoked += 1
            return revoked

    def expire_access_tokens(self, *, user: str | None = None, client_id: str | None = None) -> int:
        """Make current access tokens (of *user* / *client_id*, else all) expired now; refresh
        tokens keep working. Return how many were expired."""
        with self._lock:
            now = time.time()
            expired = 0
            for token in self._state.access_tokens.values():
                grant = self._state.grants[token.grant_id]
                if token.expires_at > now and _matches(grant, user, client_id):
                    token.expires_at = now
                    expired += 1
            return expired

    def fail_token_requests(
        self, count: int = 1, *, status: int = 503, client_id: str | None = None
    ) -> None:
        """Answer the next *count* token requests (of *client_id*, else any) with *status*
        (a provider outage), before looking at them."""
        if not 500 <= status <= 599:
            raise ValueError("an outage answers 5xx")
        with self._lock:
            self._state.failures.extend(_Failure(status, client_id) for _ in range(count))

    def reset(self) -> None:
        """Forget clients, users, tokens, switches and counters (between tests)."""
        with self._lock:
            self._state = _State()

    # --- counters ---------------------------------------------------------------------------

    @property
    def token_requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self._state.token_requests)

    @property
    def introspections(self) -> list[Introspection]:
        with self._lock:
            return list(self._state.introspections)

    @property
    def revocations(self) -> list[Revocation]:
        with self._lock:
            return list(self._state.revocations)

    def count_token_requests(
        self,
        *,
        grant_type: str | None = None,
        client_id: str | None = None,
        user: str | None = None,
        succeeded: bool | None = None,
    ) -> int:
        """Count token requests matching every given criterion."""
        return sum(
            1
            for request in self.token_requests
            if (grant_type is None or request.grant_type == grant_type)
            and (client_id is None or request.client_id == client_id)
            and (user is None or (request.user or "").lower() == user.lower())
            and (succeeded is None or request.succeeded == succeeded)
        )

    def refreshes(self, *, client_id: str | None = None, user: str | None = None) -> int:
        """Successful refresh_token grants (of *client_id* / *user*, else all)."""
        return self.count_token_requests(
            grant_type="refresh_token", client_id=client_id, user=user, succeeded=True
        )

    def count_introspections(
        self, *, user: str | None = None, active: bool | None = None, method: str | None = None
    ) -> int:
        return sum(
            1
            for item in self.introspections
            if (user is None or (item.user or "").lower() == user.lower())
            and (active is None or item.active == active)
            and (method is None or item.method == method)
        )

    # --- driving the consent page without a browser ------------------------------------------

    def approve(
        self,
        authorize_url: str,
        *,
        login: str | None = None,
        allow: bool = True,
        context: ssl.SSLContext | None = None,
    ) -> str:
        """Open *authorize_url* as a browser would, submit the consent form (as *login* if
        given, else the prefilled account) with Allow or Deny, and return the URL the server
        redirects to (the client's redirect_uri with code and state, or with an error).
        """
        page = http_request("GET", authorize_url, context=context)
        if page.status == 302:
            return page.headers["Location"]  # refused before any consent (e.g. bad scope)
        if page.status != 200:
            raise AssertionError(f"consent page answered {page.status}: {page.text}")
        form = _ConsentForm.parse(page.text)
        fields = dict(form.fields)
        if login is not None:
            fields["login"] = login
        fields["decision"] = "allow" if allow else "deny"
        answer = http_request(
            "POST", urljoin(authorize_url, form.action), form=fields, context=context
        )
        if answer.status != 302:
            raise AssertionError(f"consent answered {answer.status}: {answer.text}")
        return answer.headers["Location"]

    # --- the HTTP application ---------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        scheme = environ["wsgi.url_scheme"]
        base = f"{scheme}://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}"
        uri = f"{base}{path}" + (f"?{query}" if query else "")
        headers = {
            name: value
            for name, value in (
                ("Authorization", environ.get("HTTP_AUTHORIZATION")),
                ("Content-Type", environ.get("CONTENT_TYPE")),
            )
            if value
        }
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if path.endswith("/.well-known/openid-configuration"):
            response = _json(200, _metadata(base))
        elif name == "authorize" and method in ("GET", "POST"):
            response = self._authorize(method, uri, body)
        elif name == "token" and method == "POST":
            response = self._token(uri, body, headers)
        elif name == "revoke" and method == "POST":
            response = self._revoke(uri, body, headers)
        elif name == "introspect" and method == "GET":
            response = self._introspect_bearer(headers)
        elif name == "introspect" and method == "POST":
            response = self._introspect_form(uri, body, headers)
        elif name == "userinfo" and method in ("GET", "POST"):
            response = self._userinfo(uri, headers)
        else:
            response = _Response(404, {"Content-Type": "text/plain"}, "not found")
        status_line = f"{response.status} {http.client.responses.get(response.status, '')}"
        data = response.body.encode()
        start_response(
            status_line,
            [*response.headers.items(), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _authorize(self, method: str, uri: str, body: str) -> _Response:
        if method == "POST":
            params = dict(parse_qsl(body, keep_blank_values=True))
            login = params.pop("login", "").strip()
            decision = params.pop("decision", "")
            uri = f"{uri.split('?', 1)[0]}?{urlencode(params)}"
        with self._lock:
            try:
                scopes, info = self._oauth.validate_authorization_request(uri)
            except errors.FatalClientError as error:
                # A bad client or redirect_uri: never redirect there (RFC 6749 4.1.2.1).
                text = f"{error.error}: {error.description or ''}"
                return _page(400, "Error", f"<p id='error'>{html.escape(text)}</p>")
            except errors.OAuth2Error as error:
                return _redirect(add_params_to_uri(error.redirect_uri, error.twotuples))
            client = self._state.clients[info["client_id"]]
            if method == "GET":
                hint = dict(parse_qsl(urlsplit(uri).query)).get("login_hint")
                return _consent_page(uri, client, scopes, hint or client.login or "")
            if decision != "allow":
                denied = errors.AccessDeniedError(state=info.get("state"))
                return _redirect(add_params_to_uri(info["redirect_uri"], denied.twotuples))
            user = self._state.users.get(login.lower())
            if user is None:
                return _consent_page(uri, client, scopes, login, unknown=True)
            headers, _body, status = self._oauth.create_authorization_response(
                uri, scopes=scopes, credentials={"user": user.address}
            )
            return _Response(status, headers, "")

    def _token(self, uri: str, body: str, headers: dict[str, str]) -> _Response:
        form = dict(parse_qsl(body, keep_blank_values=True))
        grant_type = form.get("grant_type", "")
        client_id = _basic_credentials(headers)[0] or form.get("client_id")
        with self._lock:
            user = self._user_of_token_request(grant_type, form)
            failure = next(
                (f for f in self._state.failures if f.client_id in (None, client_id)), None
            )
            if failure is not None:
                self._state.failures.remove(failure)
                response = _json(failure.status, {"error": "temporarily_unavailable"})
                error: str | None = "injected"
            else:
                answer_headers, answer, status = self._oauth.create_token_response(
                    uri, "POST", body, headers
                )
                response = _Response(status, answer_headers, answer)
                error = json.loads(answer).get("error") if status != 200 else None
            self._state.token_requests.append(
                TokenRequest(grant_type, client_id, user, response.status, error)
            )
            return response

    def _revoke(self, uri: str, body: str, headers: dict[str, str]) -> _Response:
        with self._lock:
            answer_headers, answer, status = self._oauth.create_revocation_response(
                uri, "POST", body, headers
            )
            return _Response(status, answer_headers, answer or "")

    def _introspect_bearer(self, headers: dict[str, str]) -> _Response:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        with self._lock:
            claims = self._access_claims(token.strip()) if scheme.lower() == "bearer" else None
            self._record_introspection("GET", token.strip(), claims)
            return _json(200, claims or {"active": False})

    def _introspect_form(self, uri: str, body: str, headers: dict[str, str]) -> _Response:
        with self._lock:
            answer_headers, answer, status = self._oauth.create_introspect_response(
                uri, "POST", body, headers
            )
            if status == 200:
                token = dict(parse_qsl(body)).get("token", "")
                self._record_introspection("POST", token, json.loads(answer))
            return _Response(status, answer_headers, answer)

    def _userinfo(self, uri: str, headers: dict[str, str]) -> _Response:
        with self._lock:
            valid, request = self._oauth.verify_request(uri, "GET", None, headers, ["openid"])
            user = self._state.users.get((request.user or "").lower()) if valid else None
            if user is None:
                return _Response(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, "")
            return _json(200, _user_claims(user))

    # --- state helpers (called with the lock held) -----------------------------------------

    def _lifetime_for(self, request: OAuthRequest) -> int:
        client = getattr(request, "client", None)
        return (client.token_lifetime if client else None) or self.token_lifetime

    def _new_grant(self, client_id: str, user: str | None, scopes: Iterable[str]) -> _Grant:
        grant = _Grant(secrets.token_hex(8), client_id, user, tuple(scopes))
        self._state.grants[grant.id] = grant
        return grant

    def _store_tokens(self, token: dict[str, Any], grant_id: str) -> None:
        now = time.time()
        access = token["access_token"]
        expires_at = now + token["expires_in"]
        self._state.access_tokens[access] = _AccessToken(access, grant_id, now, expires_at)
        if "refresh_token" in token:
            refresh = token["refresh_token"]
            self._state.refresh_tokens[refresh] = _RefreshToken(refresh, grant_id)

    def _grant_alive(self, grant_id: str) -> _Grant | None:
        grant = self._state.grants.get(grant_id)
        if grant is None or grant.revoked or grant.client_id not in self._state.clients:
            return None
        return grant

    def _access_claims(self, token: str) -> dict[str, Any] | None:
        record = self._state.access_tokens.get(token)
        if record is None or record.expires_at <= time.time():
            return None
        grant = self._grant_alive(record.grant_id)
        if grant is None:
            return None
        return _introspection_claims(grant, "Bearer", record.issued_at, record.expires_at)

    def _refresh_claims(self, token: str) -> dict[str, Any] | None:
        record = self._state.refresh_tokens.get(token)
        grant = self._grant_alive(record.grant_id) if record and not record.used else None
        if grant is None:
            return None
        return _introspection_claims(grant, "refresh_token", None, None)

    def _record_introspection(self, method: str, token: str, claims: dict[str, Any] | None):
        grant = self._grant_of_token(token)
        self._state.introspections.append(
            Introspection(
                method=method,
                user=grant.user if grant else None,
                client_id=grant.client_id if grant else None,
                active=bool(claims and claims.get("active")),
            )
        )

    def _grant_of_token(self, token: str) -> _Grant | None:
        record = self._state.access_tokens.get(token) or self._state.refresh_tokens.get(token)
        return self._state.grants.get(record.grant_id) if record else None

    def _user_of_token_request(self, grant_type: str, form: dict[str, str]) -> str | None:
        if grant_type == "authorization_code":
            code = self._state.codes.get(form.get("code", ""))
            grant = self._state.grants.get(code.grant_id) if code else None
        elif grant_type == "refresh_token":
            grant = self._grant_of_token(form.get("refresh_token", ""))
        else:
            grant = None
        return grant.user if grant else None

    def _add_id_token(self, token: dict[str, Any], _handler: Any, request: OAuthRequest):
        """oauthlib token modifier: an id_token for the openid scope (code and refresh)."""
        user = self._state.users.get((request.user or "").lower())
        if user is not None and "openid" in (request.scopes or ()):
            nonce = getattr(request, "id_token_nonce", None)
            issuer = "{0.scheme}://{0.netloc}".format(urlsplit(request.uri))
            token["id_token"] = self._id_token(request.client, user, issuer, nonce=nonce)
        return token

    def _id_token(
        self, client: OAuthClient, user: OAuthUser, issuer: str, *, nonce: str | None
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + 3600,
            **_user_claims(user),
        }
        if nonce:
            claims["nonce"] = nonce
        return encode_jwt(claims, client.client_secret)


class _Validator(RequestValidator):
    """oauthlib's questions about clients, codes and tokens, answered from the server state.

    oauthlib calls these with the server lock held (every endpoint takes it).
    """

    def __init__(self, server: OAuthServer) -> None:
        super().__init__()
        self.server = server

    @property
    def state(self) -> _State:
        return self.server._state

    # clients

    def _client(self, client_id: str | None) -> OAuthClient | None:
        return self.state.clients.get(client_id or "")

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        basic_id, _ = _basic_credentials(request.headers)
        client = self._client(basic_id or request.client_id)
        return client is None or client.client_secret is not None

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        basic_id, basic_secret = _basic_credentials(request.headers)
        if basic_id is not None and request.client_secret is not None:
            return False  # two methods at once (RFC 6749 2.3)
        client_id = basic_id if basic_id is not None else request.client_id
        secret = basic_secret if basic_id is not None else request.client_secret
        client = self._client(client_id)
        if client is None or client.client_secret is None or secret is None:
            return False
        if not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
            return False
        request.client = client
        request.client_id = client.client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        client = self._client(client_id)
        if client is None or client.client_secret is not None:
            return False
        request.client = client
        return True

    def validate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        return self._client(client_id) is not None

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        client = self._client(client_id)
        return client is not None and redirect_uri in client.redirect_uris

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs) -> str | None:
        client = self._client(client_id)
        return client.redirect_uris[0] if client and len(client.redirect_uris) == 1 else None

    def validate_response_type(self, client_id, response_type, client, request, *args, **kw):
        return response_type == "code"

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in client.grant_types

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        client = client or self._client(client_id)
        return client is not None and (client.scopes is None or set(scopes) <= client.scopes)

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        client = self._client(client_id)
        return list(client.default_scopes) if client else []

    # authorization codes (PKCE S256 required)

    def is_pkce_required(self, client_id, request) -> bool:
        return True

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        grant = self.server._new_grant(client_id, request.user, request.scopes)
        self.state.codes[code["code"]] = _Code(
            code=code["code"],
            grant_id=grant.id,
            client_id=client_id,
            redirect_uri=request.redirect_uri,
            challenge=request.code_challenge,
            challenge_method=request.code_challenge_method,
            nonce=request.nonce,
            expires_at=time.time() + CODE_LIFETIME,
        )

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        record = self.state.codes.get(code)
        if record is None or record.client_id != client_id:
            return False
        if record.used:
            # A replayed code: refuse it and revoke what it gave (RFC 6749 4.1.2).
            self.state.grants[record.grant_id].revoked = True
            return False
        grant = self.server._grant_alive(record.grant_id)
        if grant is None or record.expires_at <= time.time():
            return False
        request.user = grant.user
        request.scopes = list(grant.scopes)
        request.grant_id = grant.id
        request.id_token_nonce = record.nonce
        return True

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *a, **kw):
        record = self.state.codes.get(code)
        return record is not None and record.redirect_uri == redirect_uri

    def get_code_challenge(self, code, request) -> str | None:
        record = self.state.codes.get(code)
        return record.challenge if record else None

    def get_code_challenge_method(self, code, request) -> str | None:
        record = self.state.codes.get(code)
        return record.challenge_method if record else None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        self.state.codes[code].used = True

    # tokens

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        grant_id = getattr(request, "grant_id", None)
        if grant_id is None:  # client credentials: a grant of the client alone
            mailbox = self.state.clients[request.client_id].app_mailbox
            grant_id = self.server._new_grant(request.client_id, mailbox, request.scopes or ()).id
        if request.grant_type == "refresh_token":
            self.state.refresh_tokens[request.refresh_token].used = True  # rotation
        self.server._store_tokens(token, grant_id)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        record = self.state.refresh_tokens.get(refresh_token)
        if record is None or record.used:
            return False
        grant = self.server._grant_alive(record.grant_id)
        if grant is None or grant.client_id != client.client_id:
            return False
        request.user = grant.user
        request.grant_id = grant.id
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        record = self.state.refresh_tokens[refresh_token]
        return list(self.state.grants[record.grant_id].scopes)

    def rotate_refresh_token(self, request) -> bool:
        return True

    def validate_bearer_token(self, token, scopes, request) -> bool:
        claims = self.server._access_claims(token or "")
        if claims is None or not set(scopes) <= set(claims["scope"].split()):
            return False
        request.user = claims.get("username")
        request.scopes = claims["scope"].split()
        return True

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        grant = self.server._grant_of_token(token)
        mine = grant is not None and grant.client_id == request.client_id
        if mine:
            grant.revoked = True
        self.state.revocations.append(
            Revocation(request.client_id, grant.user if mine else None, revoked=mine)
        )

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        if token_type_hint == "refresh_token":
            return self.server._refresh_claims(token) or self.server._access_claims(token)
        return self.server._access_claims(token) or self.server._refresh_claims(token)


# --- HTTP plumbing ----------------------------------------------------------------------------


class _HTTPServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's FQDN; loopback needs no lookup.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request on stderr would drown pytest's output


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: str


def _json(status: int, payload: dict[str, Any]) -> _Response:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    return _Response(status, headers, json.dumps(payload))


def _redirect(location: str) -> _Response:
    return _Response(302, {"Location": location}, "")


def _page(status: int, title: str, content: str) -> _Response:
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} – test provider</title></head><body>{content}</body></html>"
    )
    return _Response(status, {"Content-Type": "text/html; charset=utf-8"}, body)


def _consent_page(
    uri: str, client: OAuthClient, scopes: list[str], login: str, *, unknown: bool = False
) -> _Response:
    """The provider's sign-in and consent page: one form, Allow or Deny."""
    parts = urlsplit(uri)
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(key)}' value='{html.escape(value)}'>"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    scope_items = "".join(f"<li>{html.escape(scope)}</li>" for scope in scopes)
    problem = (
        f"<p id='error' role='alert'>No account {html.escape(login)} here.</p>" if unknown else ""
    )
    content = (
        f"<h1>Allow <span id='client'>{html.escape(client.name)}</span> to use your account?</h1>"
        f"{problem}<form method='post' action='{html.escape(parts.path)}'>{hidden}"
        f"<label>Account <input type='email' name='login' value='{html.escape(login)}'></label>"
        f"<p>It asks for:</p><ul id='scopes'>{scope_items}</ul>"
        "<button type='submit' name='decision' value='allow'>Allow</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button></form>"
    )
    return _page(200, "Sign in", content)


class _ConsentForm(HTMLParser):
    """Reads the consent page's form (action and inputs) like a browser would submit it."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []

    @classmethod
    def parse(cls, page: str) -> _ConsentForm:
        form = cls()
        form.feed(page)
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name"):
            self.fields.append((values["name"], values.get("value", "")))


def _require_s256(request: OAuthRequest) -> dict[str, Any]:
    """PKCE with S256 only: ``plain`` (or a challenge without a method) is refused."""
    if request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="code_challenge_method must be S256", request=request
        )
    return {}


def _basic_credentials(headers: Any) -> tuple[str | None, str | None]:
    """client_secret_basic: the form-encoded id and secret in ``Authorization: Basic``."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _matches(grant: _Grant, user: str | None, client_id: str | None) -> bool:
    return (user is None or (grant.user or "").lower() == user.lower()) and (
        client_id is None or grant.client_id == client_id
    )


def _introspection_claims(
    grant: _Grant, token_type: str, issued_at: float | None, expires_at: float | None
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "active": True,
        "client_id": grant.client_id,
        "scope": " ".join(grant.scopes),
        "token_type": token_type,
    }
    if grant.user:
        claims["username"] = grant.user
        claims["email"] = grant.user
    if issued_at is not None and expires_at is not None:
        claims["iat"], claims["exp"] = int(issued_at), int(expires_at)
    return claims


def _user_claims(user: OAuthUser) -> dict[str, Any]:
    return {
        "sub": user.sub,
        "email": user.address,
        "email_verified": True,
        "preferred_username": user.address,
        "name": user.name,
    }


def _endpoints(base: str) -> OAuthEndpoints:
    return OAuthEndpoints(
        issuer=base,
        authorize=f"{base}/authorize",
        token=f"{base}/token",
        revoke=f"{base}/revoke",
        introspect=f"{base}/introspect",
        userinfo=f"{base}/userinfo",
        metadata=f"{base}/.well-known/openid-configuration",
    )


def _metadata(base: str) -> dict[str, Any]:
    urls = _endpoints(base)
    return {
        "issuer": urls.issuer,
        "authorization_endpoint": urls.authorize,
        "token_endpoint": urls.token,
        "revocation_endpoint": urls.revoke,
        "introspection_endpoint": urls.introspect,
        "userinfo_endpoint": urls.userinfo,
        "response_types_supported": ["code"],
        "grant_types_supported": sorted(ALL_GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["HS256", "none"],
        "subject_types_supported": ["public"],
        "scopes_supported": list(DEFAULT_SCOPES),
    }


# --- helpers for tests ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: dict[str, Any], key: str | None) -> str:
    """A compact JWT: HS256 with *key*, or unsigned (``alg: none``) without one."""
    header = {"alg": "HS256" if key else "none", "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = (
        _b64url(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())
        if key
        else ""
    )
    return f"{signing_input}.{signature}"


def decode_jwt(token: str, key: str | None) -> dict[str, Any]:
    """The claims of a JWT from ``encode_jwt``; raises ValueError on a bad signature."""
    signing_input, _, signature = token.rpartition(".")
    if key is not None:
        expected = _b64url(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            raise ValueError("bad id_token signature")
    payload = signing_input.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pkce_pair() -> tuple[str, str]:
    """Return ``(code_verifier, code_challenge)`` for PKCE S256 (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def http_request(
    method: str,
    url: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> HttpResponse:
    """One HTTP request, redirects not followed (the Location is what OAuth tests look at)."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    all_headers = dict(headers or {})
    body = None
    if form is not None:
        body = urlencode(form)
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return HttpResponse(response.status, response.headers, response.read().decode())
    finally:
        connection.close()


__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "HttpResponse",
    "Introspection",
    "OAuthClient",
    "OAuthEndpoints",
    "OAuthServer",
    "OAuthUser",
    "Revocation",
    "TokenRequest",
    "decode_jwt",
    "encode_jwt",
    "http_request",
    "pkce_pair",
]
