"""SMTP connections: Django's SMTP backend per account, errors in plain words.

No SMTP is written by hand: ``MailSmtpBackend`` is Django's ``EmailBackend`` with a TLS
context that also trusts ``POSTACI_MAIL_CA_FILE`` (like the IMAP side), and with a ``_send``
that hands the server prebuilt bytes (``PreparedEmail``) so every attempt and the Sent copy
are identical. It is also the system backend (``EMAIL_BACKEND``) for notifications.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from mailboxes.connection.credentials import Bearer, account_bearer
from mailboxes.connection.hosts import check_mail_host
from mailboxes.connection.network import mail_ssl_context, network_problem, new_mail_ssl_context
from mailboxes.exceptions import MailError
from mailboxes.messages import (
    SMTP_AUTH,
    SMTP_ERROR,
    SMTP_INTERRUPTED,
    SMTP_RECIPIENTS,
    SMTP_REJECTED,
    SMTP_TEMPORARY,
    SMTP_UNSUPPORTED,
    UNREACHABLE,
    refused_list,
)
from mailboxes.models import MailAccount, Security
from mailboxes.sending.exceptions import DeliveryError


class PreparedEmail(EmailMessage):
    """A Django email whose RFC 5322 bytes are already built (mailboxes/sending/compose.py).

    ``recipients()`` is the SMTP envelope (To, Cc and Bcc); Bcc never appears in ``raw``.
    """

    def __init__(self, raw: bytes, *, envelope_from: str, envelope_to: list[str]):
        super().__init__(from_email=envelope_from, to=list(envelope_to))
        self.raw = raw

    def message(self, *, policy=None):
        return message_from_bytes(self.raw, policy=email_policy.SMTP)


class MailSmtpBackend(EmailBackend):
    """Django's SMTP backend; trusts ``POSTACI_MAIL_CA_FILE`` and sends ``PreparedEmail``
    bytes unchanged, remembering recipients the server refused while accepting others."""

    def __init__(self, *args, bearer: Bearer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused: dict[str, tuple[int, str]] = {}
        self.bearer = bearer  # OAuth: AUTH XOAUTH2 with this token instead of a password

    @sensitive_variables("bearer")
    def open(self) -> bool | None:
        opened = super().open()
        if opened and self.bearer is not None:
            bearer = self.bearer
            initial = f"user={bearer.username}\x01auth=Bearer {bearer.token}\x01\x01"
            try:
                self.connection.ehlo_or_helo_if_needed()
                # a refusal comes as a 334 challenge with the error; answer it empty
                self.connection.auth(
                    "XOAUTH2",
                    lambda challenge=None: "" if challenge is not None else initial,
                    initial_response_ok=True,
                )
            except BaseException:
                self.close_quietly()
                raise
        return opened

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        if self.ssl_certfile or self.ssl_keyfile:
            context = new_mail_ssl_context()  # the shared one is never changed
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
            return context
        return mail_ssl_context()

    def _send(self, email_message) -> bool:
        raw = getattr(email_message, "raw", None)
        if raw is None:
            return super()._send(email_message)
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in email_message.recipients()]
        refused = self.connection.sendmail(from_email, recipients, raw)
        for address, (code, reply) in (refused or {}).items():
            self.refused[address] = (code, _reply_text(reply))
        return True

    def close_quietly(self) -> None:
        """Close; a server that already hung up is not an error worth reporting."""
        try:
            self.close()
        except (smtplib.SMTPException, OSError):
            self.connection = self._partial_connection = None


@dataclass(frozen=True)
class SmtpSettings:
    """Where and as whom to send. ``oauth_account``: the id of an account that signs in
    with OAuth (AUTH XOAUTH2); its token is fetched when connecting, never carried here."""

    host: str
    port: int
    security: str = Security.NONE
    username: str = ""
    password: str = field(default="", repr=False)
    oauth_account: int | None = None

    @classmethod
    def of(cls, account: MailAccount) -> SmtpSettings:
        auth = account.smtp_auth
        if account.uses_oauth:
            return cls(
                host=(account.smtp_host or "").strip(),
                port=account.smtp_port,
                security=account.smtp_security,
                username=account.oauth_login_name,
                oauth_account=account.pk,
            )
        return cls(
            host=(account.smtp_host or "").strip(),
            port=account.smtp_port,
            security=account.smtp_security,
            username=(account.smtp_username or account.email_address) if auth else "",
            password=account.smtp_password if auth else "",
        )


@sensitive_variables("smtp", "bearer")
def smtp_backend(
    smtp: SmtpSettings,
    *,
    timeout: float | None = None,
    refused_token: str = "",
) -> MailSmtpBackend:
    """A backend for one account's server; the SSRF guard runs first.

    Host and port are always passed, so Django's ``EMAIL_*`` settings never stand in for an
    account's missing values. An OAuth account gets a fresh token (a new one when
    ``refused_token`` is the one the server just refused).
    """
    check_mail_host(smtp.host, smtp.port)
    bearer = None
    if smtp.oauth_account is not None:
        bearer = account_bearer(smtp.oauth_account, force=bool(refused_token), stale=refused_token)
    return MailSmtpBackend(
        host=smtp.host,
        port=smtp.port,
        username="" if bearer else smtp.username,
        password="" if bearer else smtp.password,
        bearer=bearer,
        use_tls=smtp.security == Security.STARTTLS,
        use_ssl=smtp.security == Security.SSL,
        timeout=timeout if timeout is not None else settings.POSTACI_SMTP_TIMEOUT,
    )


@sensitive_variables("smtp", "backend")
def smtp_open(smtp: SmtpSettings, *, timeout: float | None = None) -> MailSmtpBackend:
    """An open, logged-in backend. An OAuth token that looked fresh but is refused is
    refreshed once and tried again; then the refusal is real."""
    backend = smtp_backend(smtp, timeout=timeout)
    try:
        backend.open()
    except smtplib.SMTPAuthenticationError:
        backend.close_quietly()
        if backend.bearer is None or backend.bearer.fresh:
            raise
        backend = smtp_backend(smtp, timeout=timeout, refused_token=backend.bearer.token)
        try:
            backend.open()
        except BaseException:
            backend.close_quietly()
            raise
    except BaseException:
        backend.close_quietly()
        raise
    return backend


def smtp_deliver(
    smtp: SmtpSettings, raw: bytes, *, envelope_from: str, envelope_to: list[str]
) -> dict[str, tuple[int, str]]:
    """Hand ``raw`` to the server; return the recipients it refused while accepting the rest.

    Raises ``DeliveryError``: ``transient`` when a later attempt may succeed, ``uncertain``
    when the connection broke during the mail transaction (it may have been delivered).
    """
    try:
        backend = smtp_open(smtp)
    except MailError as exc:
        # a temporary problem at the sign-in provider may pass; a lost grant will not
        transient = exc.code in ("unreachable", "protocol", "temporarily_unavailable")
        raise DeliveryError(exc.message, code=exc.code, transient=transient) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise delivery_error(exc, smtp.host, during_transaction=False) from exc
    try:
        backend.send_messages(
            [PreparedEmail(raw, envelope_from=envelope_from, envelope_to=envelope_to)]
        )
    except (smtplib.SMTPException, OSError) as exc:
        raise delivery_error(exc, smtp.host, during_transaction=True) from exc
    finally:
        backend.close_quietly()
    return backend.refused


def _reply_text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())


def _server_said(code: int, reply: bytes | str) -> str:
    return f"{code} {_reply_text(reply)}".strip()


def delivery_error(exc: BaseException, host: str, *, during_transaction: bool) -> DeliveryError:
    """Translate smtplib/socket/TLS exceptions into a ``DeliveryError`` with a plain sentence
    and the server's own words (``detail``). 4xx replies and connection problems before the
    transaction are transient; 5xx are final."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            SMTP_AUTH(reply=_server_said(exc.smtp_code, exc.smtp_error)),
            code="auth",
            detail=str(exc),
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {a: (code, _reply_text(r)) for a, (code, r) in exc.recipients.items()}
        transient = all(400 <= code < 500 for code, _r in replies.values())
        return DeliveryError(
            SMTP_RECIPIENTS(list=refused_list(replies)),
            transient=transient,
            code="recipients",
            detail=str(exc),
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        said = _server_said(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            return DeliveryError(
                SMTP_TEMPORARY(reply=said), transient=True, code="temporary", detail=str(exc)
            )
        return DeliveryError(SMTP_REJECTED(reply=said), code="rejected", detail=str(exc))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(
            SMTP_UNSUPPORTED(reason=str(exc) or type(exc).__name__),
            code="protocol",
            detail=str(exc),
        )
    if during_transaction and isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
        return DeliveryError(
            SMTP_INTERRUPTED(reason=str(exc) or type(exc).__name__),
            uncertain=True,
            code="interrupted",
            detail=str(exc),
        )
    problem = network_problem(exc, host)
    if problem is not None:
        code, message = problem
        # a certificate or TLS setting will not fix itself; anything else may, on a retry
        return DeliveryError(message, transient=code != "tls", code=code, detail=str(exc))
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return DeliveryError(
            UNREACHABLE(reason=str(getattr(exc, "strerror", None) or exc or type(exc).__name__)),
            transient=True,
            code="connection",
            detail=str(exc),
        )
    return DeliveryError(SMTP_ERROR(reason=str(exc) or type(exc).__name__), detail=repr(exc))
