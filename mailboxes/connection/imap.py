"""Connecting to an account's IMAP server, with errors in plain words."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailboxes.connection.credentials import account_bearer
from mailboxes.connection.hosts import check_mail_host
from mailboxes.connection.network import mail_ssl_context, network_problem
from mailboxes.exceptions import MailConnectionError, MailError
from mailboxes.messages import IMAP_AUTH, IMAP_PROTOCOL, IMAP_TOKEN_REFUSED
from mailboxes.models import MailAccount, Security


@dataclass(frozen=True)
class ImapSettings:
    """Where and as whom to log in. ``oauth_account``: the id of an account that signs in
    with OAuth (XOAUTH2); its token is fetched at login time, never carried here."""

    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)
    oauth_account: int | None = None

    @classmethod
    def of(cls, account: MailAccount) -> ImapSettings:
        if account.uses_oauth:
            return cls(
                host=account.imap_host,
                port=account.imap_port,
                security=account.imap_security,
                username=account.oauth_login_name,
                password="",
                oauth_account=account.pk,
            )
        return cls(
            host=account.imap_host,
            port=account.imap_port,
            security=account.imap_security,
            username=account.imap_username or account.email_address,
            password=account.imap_password,
        )


def connection_error(exc: BaseException, host: str, *, oauth: bool = False) -> MailConnectionError:
    """Translate socket/TLS/IMAP exceptions into one error with a code and a plain sentence."""
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, LoginError) and oauth:
        return MailConnectionError(
            IMAP_TOKEN_REFUSED(),
            code="auth",
            detail=str(exc),
        )
    if isinstance(exc, LoginError):
        return MailConnectionError(IMAP_AUTH(), code="auth", detail=str(exc))
    problem = network_problem(exc, host)
    if problem is not None:
        code, message = problem
        return MailConnectionError(message, code=code, detail=str(exc))
    return MailConnectionError(
        IMAP_PROTOCOL(reason=str(exc) or type(exc).__name__), code="protocol", detail=str(exc)
    )


def imap_connect(imap: ImapSettings, *, timeout: float | None = None) -> IMAPClient:
    """Open, secure and log in; raises ``MailConnectionError`` / ``MailHostNotAllowed``."""
    try:
        check_mail_host(imap.host, imap.port)
    except OSError as exc:  # the resolver could not even start (no file descriptor left)
        raise connection_error(exc, imap.host) from exc
    timeout = timeout or settings.POSTACI_IMAP_TIMEOUT
    client = None
    try:
        implicit_tls = imap.security == Security.SSL
        client = IMAPClient(
            imap.host,
            port=imap.port,
            ssl=implicit_tls,
            # the trust store is read only for a connection that will use it
            ssl_context=mail_ssl_context() if implicit_tls else None,
            timeout=timeout,
        )
        imap_quiet(client)
        if imap.security == Security.STARTTLS:
            client.starttls(mail_ssl_context())
        if imap.oauth_account is not None:
            _oauth_login(client, imap.oauth_account)
        else:
            client.login(imap.username, imap.password)
        return client
    except (OSError, IMAPClientError, MailError) as exc:
        if client is not None:
            with suppress(OSError):
                client.shutdown()
        raise connection_error(exc, imap.host, oauth=imap.oauth_account is not None) from exc


# the logger IMAPClient hands imaplib's own debug messages to
IMAPLIB_LOGGER = "imapclient.imaplib"


def imap_quiet(client: IMAPClient) -> None:
    """Turn imaplib's debug messages off unless their logger would write them.

    IMAPClient sets imaplib's debug level to 5 so that imaplib talks to a logger; imaplib
    then builds each message before asking whether anyone listens, among them ``repr()`` of
    every response it stores and hands back: a 25 MB message body became two strings of
    25 MB each while it was read (50 MB of a fetch's peak, bench/memory.py). With the logger
    at DEBUG (someone reading the protocol) the messages stay, at that cost."""
    if not logging.getLogger(IMAPLIB_LOGGER).isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


@sensitive_variables("bearer")
def _oauth_login(client: IMAPClient, account_id: int) -> None:
    """XOAUTH2 with the account's token; a token that looked fresh but is refused (revoked
    early, clock skew) is refreshed once and tried again; then the refusal is real."""
    bearer = account_bearer(account_id)
    try:
        client.oauth2_login(bearer.username, bearer.token)
    except LoginError:
        if bearer.fresh:
            raise
        bearer = account_bearer(account_id, force=True, stale=bearer.token)
        client.oauth2_login(bearer.username, bearer.token)


@contextmanager
def imap_session(account: MailAccount) -> Iterator[IMAPClient]:
    """A logged-in client for the account, logged out afterwards whatever happens."""
    client = imap_connect(ImapSettings.of(account))
    try:
        yield client
    finally:
        imap_close(client)


def imap_close(client: IMAPClient) -> None:
    """Log out politely; drop the socket if the server no longer answers."""
    try:
        client.logout()
    except (OSError, IMAPClientError):
        with suppress(OSError):
            client.shutdown()


def imap_list_folders(client: IMAPClient) -> list[str]:
    """Selectable folder names, INBOX first, decoded from modified UTF-7."""
    names = []
    for flags, _delimiter, name in client.list_folders():
        if b"\\Noselect" in flags or b"\\NonExistent" in flags:
            continue
        names.append(name if isinstance(name, str) else name.decode("utf-8", "replace"))
    return sorted(names, key=lambda n: (n.upper() != "INBOX", n.lower()))


def account_test_connection(imap: ImapSettings) -> list[str]:
    """Connect, log in and list folders: what the "Test connection" button does."""
    client = imap_connect(imap)
    try:
        return imap_list_folders(client)
    except (OSError, IMAPClientError) as exc:
        raise connection_error(exc, imap.host) from exc
    finally:
        imap_close(client)
