"""What IMAP and SMTP connections share: the TLS trust store and network errors in plain words."""

from __future__ import annotations

import socket
import ssl

from django.conf import settings

from crm.messages import Message
from mailboxes.messages import (
    CERTIFICATE_UNTRUSTED,
    CONNECTION_REFUSED,
    HOST_NOT_FOUND,
    TIMEOUT,
    TLS_FAILED,
    UNREACHABLE,
)


def mail_ssl_context() -> ssl.SSLContext:
    """The system trust store, plus ``POSTACI_MAIL_CA_FILE`` when set (a private CA)."""
    context = ssl.create_default_context()
    ca_file = getattr(settings, "POSTACI_MAIL_CA_FILE", "")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def network_problem(exc: BaseException, host: str) -> tuple[str, Message] | None:
    """``(code, message)`` for a failure to reach a mail server — ``dns``, ``timeout``,
    ``tls``, ``refused`` or ``unreachable`` — or None when ``exc`` is something else (the
    protocol's own errors, which IMAP and SMTP word differently)."""
    if isinstance(exc, socket.gaierror):
        return "dns", HOST_NOT_FOUND(host=host)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout", TIMEOUT()
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", CERTIFICATE_UNTRUSTED(reason=str(exc.verify_message or exc.reason or exc))
    if isinstance(exc, ssl.SSLError):
        return "tls", TLS_FAILED()
    if isinstance(exc, ConnectionRefusedError):
        return "refused", CONNECTION_REFUSED()
    if isinstance(exc, OSError):
        return "unreachable", UNREACHABLE(reason=str(exc.strerror or exc or type(exc).__name__))
    return None
