"""A real SMTP server for tests (aiosmtpd in a thread) that captures everything it accepts.

    with SmtpServer(auth=("sender", "secret"), tls="starttls", certificate=cert) as smtp:
        ...  # the code under test sends to smtp.host:smtp.port
        [captured] = smtp.wait_for_messages(1)
        assert captured.message["Subject"] == "Hello"

``smtp.fail_next(2, code=451)`` makes the server refuse the next two messages, like a real
server that is busy (4xx, try again later) or refuses for good (5xx).

With ``oauth_introspection_url`` (the test OAuth server's, tests/servers/oauth.py) the server
takes ``AUTH XOAUTH2`` and ``AUTH OAUTHBEARER`` (RFC 7628) like Gmail or Office 365: it asks
that URL whether the bearer token is active and for whom, and accepts only when the token's
user is the ``user=`` (or ``a=``) address. A refused token gets the mechanism's JSON error
challenge (``334 <base64 {"status":"401",...}>``), and after the client's empty (XOAUTH2) or
``\x01`` (OAUTHBEARER) answer, ``535 5.7.8``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, Envelope, LoginPassword, Session
from aiosmtpd.smtp import SMTP as SMTPProtocol

from .oauth import http_request
from .ports import free_port
from .tls import TestCertificate

TlsMode = Literal["none", "starttls", "implicit"]
Stage = Literal["mail", "rcpt", "data"]


class _Sessions:
    """How many SMTP sessions the server has open (a condition to wait on)."""

    def __init__(self) -> None:
        self.open = 0
        self.changed = threading.Condition()

    def add(self, delta: int) -> None:
        with self.changed:
            self.open += delta
            self.changed.notify_all()


class _CountingSMTP(SMTPProtocol):
    def __init__(self, *args: Any, sessions: _Sessions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions = sessions

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sessions.add(1)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            self._sessions.add(-1)


class _SessionCountingController(Controller):
    """aiosmtpd's controller whose sessions are counted (see ``SmtpServer.start``)."""

    def __init__(self, sessions: _Sessions, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = sessions

    def factory(self) -> SMTPProtocol:
        return _CountingSMTP(self.handler, sessions=self.sessions, **self.SMTP_kwargs)


@dataclass(frozen=True)
class CapturedMessage:
    """One message the server accepted."""

    mail_from: str  # envelope sender (MAIL FROM)
    rcpt_tos: list[str]  # envelope recipients (RCPT TO), including Bcc
    original_content: bytes  # the exact bytes received, CRLF line ends, dot-unstuffed
    message: EmailMessage  # original_content parsed with email.policy.default
    auth_login: str | None  # the user name the client authenticated as, if it did
    tls: bool  # whether the session was encrypted (STARTTLS or implicit TLS)
    auth_mechanism: str | None = None  # "password" (PLAIN/LOGIN), "XOAUTH2", "OAUTHBEARER"


@dataclass(frozen=True)
class BearerLogin:
    """The session's credentials after a successful XOAUTH2/OAUTHBEARER login."""

    login: bytes  # the address, bytes like aiosmtpd's LoginPassword.login
    mechanism: str


@dataclass(frozen=True)
class AuthAttempt:
    """One token login (XOAUTH2 or OAUTHBEARER), accepted or not."""

    mechanism: str
    login: str
    success: bool


@dataclass(frozen=True)
class Rejection:
    """An injected failure the server answered (see ``SmtpServer.fail_next``)."""

    stage: Stage
    reply: str
    mail_from: str | None
    rcpt_tos: list[str]


class SmtpServer:
    """aiosmtpd on a free loopback port; optional AUTH, STARTTLS or implicit TLS (SMTPS).

    With ``auth`` the server accepts mail only from clients that logged in with that user
    name and password. With ``tls="starttls"`` it behaves like a submission server on port
    587: it offers STARTTLS and refuses MAIL and AUTH until the client has used it.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls: TlsMode = "none",
        certificate: TestCertificate | None = None,
        oauth_introspection_url: str | None = None,
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("a TLS mode needs a certificate")
        self.auth = auth
        self.oauth_introspection_url = oauth_introspection_url
        self.tls = tls
        self.certificate = certificate
        self.port = 0
        self._messages: list[CapturedMessage] = []
        self._rejections: list[Rejection] = []
        self._auth_attempts: list[AuthAttempt] = []
        self._failures: dict[str, deque[str]] = {"mail": deque(), "rcpt": deque(), "data": deque()}
        self._changed = threading.Condition()
        self._controller: Controller | None = None
        self._sessions = _Sessions()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.auth is not None or self.oauth_introspection_url:
            kwargs["auth_required"] = True  # like a submission server: no AUTH, no MAIL
            # Plain and SMTPS sessions may AUTH at once; STARTTLS sessions only after it.
            kwargs["auth_require_tls"] = self.tls == "starttls"
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
        elif self.oauth_introspection_url:
            kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]  # tokens only
        if self.tls == "starttls":
            assert self.certificate is not None
            kwargs["tls_context"] = self.certificate.server_context()
            kwargs["require_starttls"] = True
        elif self.tls == "implicit":
            assert self.certificate is not None
            kwargs["ssl_context"] = self.certificate.server_context()
        self.port = free_port()
        handler = _OAuthHandler(self) if self.oauth_introspection_url else _Handler(self)
        self._controller = _SessionCountingController(
            self._sessions,
            handler,
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",
            ready_timeout=10.0,
            **kwargs,
        )
        self._controller.start()
        # Controller.start() proved the server ready by connecting to it; the server's end of
        # that connection closes a moment later in its thread. Wait for it, so a started
        # server holds only its listening socket: a test that uses up this process's files
        # (tests/mailboxes/test_open_file_limit.py) must not get one back from the server.
        with self._sessions.changed:
            if not self._sessions.changed.wait_for(lambda: self._sessions.open == 0, timeout=10):
                raise RuntimeError("the SMTP server kept its readiness check's connection open")
        # asyncio calls connection_lost() and only then closes the socket, in the same loop
        # callback: a callback queued now runs after that, when the file is really closed.
        closed = threading.Event()
        self._controller.loop.call_soon_threadsafe(closed.set)
        if not closed.wait(timeout=10):
            raise RuntimeError("the SMTP server's event loop did not answer")
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what tests use ---------------------------------------------------------------------

    @property
    def messages(self) -> list[CapturedMessage]:
        """Messages accepted so far, oldest first."""
        with self._changed:
            return list(self._messages)

    @property
    def rejections(self) -> list[Rejection]:
        """Injected failures answered so far, oldest first."""
        with self._changed:
            return list(self._rejections)

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        """Token logins (XOAUTH2/OAUTHBEARER) so far, oldest first."""
        with self._changed:
            return list(self._auth_attempts)

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[CapturedMessage]:
        """Wait until at least *count* messages arrived; return all of them.

        Raises AssertionError (saying how many came) if they do not arrive in time.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) within {timeout} s, got {len(self._messages)}"
                    )
                self._changed.wait(remaining)
            return list(self._messages)

    def fail_next(
        self, count: int = 1, *, code: int = 451, text: str | None = None, at: Stage = "data"
    ) -> None:
        """Answer the next *count* MAIL, RCPT or DATA commands (``at``) with an error.

        4xx codes mean "try again later" (SMTPDataError/SMTPSenderRefused/...
        with that code in smtplib), 5xx a permanent refusal. At ``rcpt`` each recipient
        counts as one.
        """
        if not 400 <= code <= 599:
            raise ValueError("SMTP error codes are 4xx or 5xx")
        if text is None:
            text = "4.3.0 Temporary failure (test)" if code < 500 else "5.7.1 Refused (test)"
        with self._changed:
            self._failures[at].extend([f"{code} {text}"] * count)

    def clear(self) -> None:
        """Forget captured messages, rejections and pending failures."""
        with self._changed:
            self._messages.clear()
            self._rejections.clear()
            self._auth_attempts.clear()
            for queue in self._failures.values():
                queue.clear()

    def django_email_settings(self) -> dict[str, Any]:
        """Django's ``EMAIL_*`` settings for sending through this server."""
        user, password = self.auth or ("", "")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": user,
            "EMAIL_HOST_PASSWORD": password,
            "EMAIL_USE_TLS": self.tls == "starttls",
            "EMAIL_USE_SSL": self.tls == "implicit",
            "EMAIL_TIMEOUT": 10,
        }

    # --- called from the server thread ------------------------------------------------------

    def _authenticate(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.auth is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _take_failure(self, stage: Stage, envelope: Envelope, rcpt: str | None = None) -> str:
        with self._changed:
            if not self._failures[stage]:
                return ""
            reply = self._failures[stage].popleft()
            rcpt_tos = [*envelope.rcpt_tos, *([rcpt] if rcpt else [])]
            self._rejections.append(Rejection(stage, reply, envelope.mail_from, rcpt_tos))
            self._changed.notify_all()
            return reply

    def _capture(self, session: Session, envelope: Envelope) -> None:
        content = envelope.original_content or b""
        auth = session.auth_data if session.authenticated else None
        mechanism = None
        if isinstance(auth, BearerLogin):
            mechanism = auth.mechanism
        elif isinstance(auth, LoginPassword):
            mechanism = "password"
        captured = CapturedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            original_content=content,
            message=message_from_bytes(content, policy=policy.default),  # type: ignore[arg-type]
            auth_login=auth.login.decode() if mechanism else None,
            tls=self.tls == "implicit" or session.ssl is not None,
            auth_mechanism=mechanism,
        )
        with self._changed:
            self._messages.append(captured)
            self._changed.notify_all()


class _Handler:
    """aiosmtpd handler hooks; MAIL and RCPT hooks must record the envelope themselves."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        if reply := self.server._take_failure("mail", envelope):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if reply := self.server._take_failure("rcpt", envelope, address):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if reply := self.server._take_failure("data", envelope):
            return reply
        self.server._capture(session, envelope)
        return "250 Message accepted for delivery"


class _OAuthHandler(_Handler):
    """The SASL mechanisms that carry an OAuth bearer token (aiosmtpd calls ``auth_<MECH>``)."""

    async def auth_XOAUTH2(self, server: SMTPProtocol, args: list[str]) -> AuthResult:
        # Google's format: base64("user=" address ^A "auth=Bearer " token ^A ^A)
        blob = await _client_response(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        fields = _key_values(blob.split(b"\x01"))
        login = fields.get("user", "")
        error = {"status": "401", "schemes": "Bearer", "scope": "https://mail.google.com/"}
        return await self._check(server, "XOAUTH2", login, fields.get("auth", ""), error)

    async def auth_OAUTHBEARER(self, server: SMTPProtocol, args: list[str]) -> AuthResult:
        # RFC 7628: gs2-header ("n,a=" address ",") ^A "auth=Bearer " token ^A ^A
        blob = await _client_response(server, args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        header, _, rest = blob.partition(b"\x01")
        authzid = next(
            (part[2:] for part in header.decode(errors="replace").split(",") if part[:2] == "a="),
            "",
        )
        login = authzid.replace("=2C", ",").replace("=3D", "=")
        fields = _key_values(rest.split(b"\x01"))
        error = {"status": "invalid_token", "scope": "email"}
        return await self._check(server, "OAUTHBEARER", login, fields.get("auth", ""), error)

    async def _check(
        self,
        server: SMTPProtocol,
        mechanism: str,
        login: str,
        authorization: str,
        error: dict[str, str],
    ) -> AuthResult:
        scheme, _, token = authorization.partition(" ")
        username = None
        if scheme.lower() == "bearer" and token:
            loop = asyncio.get_running_loop()
            try:
                username = await loop.run_in_executor(None, self._token_user, token.strip())
            except OSError:
                temporary = "454 4.7.0 Temporary authentication failure"
                return AuthResult(success=False, handled=False, message=temporary)
        success = bool(login) and (username or "").lower() == login.lower()
        with self.server._changed:
            self.server._auth_attempts.append(AuthAttempt(mechanism, login, success))
        if success:
            return AuthResult(success=True, auth_data=BearerLogin(login.encode(), mechanism))
        # The error challenge; the client answers it (empty line or ^A) before the 535.
        if await server.challenge_auth(json.dumps(error)) is MISSING:
            return AuthResult(success=False, handled=True)  # aborted: 501 already sent
        refused = "535 5.7.8 Username and Password not accepted"
        return AuthResult(success=False, handled=False, message=refused)

    def _token_user(self, token: str) -> str | None:
        """Ask the OAuth server whose the token is, as Dovecot does (None: not active)."""
        assert self.server.oauth_introspection_url
        answer = http_request(
            "GET",
            self.server.oauth_introspection_url,
            headers={"Authorization": f"Bearer {token}"},
        )
        claims = answer.json() if answer.status == 200 else {}
        return claims.get("username") if claims.get("active") is True else None


async def _client_response(server: SMTPProtocol, args: list[str]) -> bytes | None:
    """The SASL initial response (``AUTH MECH <base64>``), or the answer to an empty challenge.

    None when the client aborted or sent bad base64 (the error reply is already sent).
    """
    if len(args) == 2:
        try:
            return base64.b64decode(args[1], validate=True)
        except binascii.Error:
            await server.push("501 5.5.2 Can't decode base64")
            return None
    answer = await server.challenge_auth("")
    return None if answer is MISSING else answer  # type: ignore[return-value]


def _key_values(parts: list[bytes]) -> dict[str, str]:
    pairs = (part.decode(errors="replace").partition("=") for part in parts if b"=" in part)
    return {key: value for key, _, value in pairs}
