"""Connecting to an account's IMAP server, with errors in plain words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailboxes.exceptions import MailConnectionError
from mailboxes.hosts import check_mail_host
from mailboxes.messages import IMAP_AUTH, IMAP_PROTOCOL
from mailboxes.models import MailAccount, Security
from mailboxes.network import mail_ssl_context, network_problem


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str
    username: str
    password: str

    @classmethod
    def of(cls, account: MailAccount) -> ImapSettings:
        return cls(
            host=account.imap_host,
            port=account.imap_port,
            security=account.imap_security,
            username=account.imap_username or account.email_address,
            password=account.imap_password,
        )


def connection_error(exc: BaseException, host: str) -> MailConnectionError:
    """Translate socket/TLS/IMAP exceptions into one error with a code and a plain sentence."""
    if isinstance(exc, MailConnectionError):
        return exc
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
        client = IMAPClient(
            imap.host,
            port=imap.port,
            ssl=imap.security == Security.SSL,
            ssl_context=mail_ssl_context(),
            timeout=timeout,
        )
        if imap.security == Security.STARTTLS:
            client.starttls(mail_ssl_context())
        client.login(imap.username, imap.password)
        return client
    except (OSError, IMAPClientError) as exc:
        if client is not None:
            with suppress(OSError):
                client.shutdown()
        raise connection_error(exc, imap.host) from exc


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
