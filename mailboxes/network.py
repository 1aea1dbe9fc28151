"""What IMAP and SMTP connections share: the TLS trust store and network errors in plain words."""

from __future__ import annotations

import socket
import ssl

from django.conf import settings
from django.utils.translation import gettext as _


def mail_ssl_context() -> ssl.SSLContext:
    """The system trust store, plus ``POSTACI_MAIL_CA_FILE`` when set (a private CA)."""
    context = ssl.create_default_context()
    ca_file = getattr(settings, "POSTACI_MAIL_CA_FILE", "")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def network_problem(exc: BaseException, host: str) -> tuple[str, str] | None:
    """``(code, sentence)`` for a failure to reach a mail server — ``dns``, ``timeout``,
    ``tls``, ``refused`` or ``unreachable`` — or None when ``exc`` is something else (the
    protocol's own errors, which IMAP and SMTP word differently)."""
    if isinstance(exc, socket.gaierror):
        return "dns", _("The host name “%(host)s” was not found.") % {"host": host}
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout", _("The server did not answer in time.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", _("The server's certificate is not trusted: %(reason)s") % {
            "reason": exc.verify_message or exc.reason
        }
    if isinstance(exc, ssl.SSLError):
        return "tls", _("The secure connection failed (check the port and security setting).")
    if isinstance(exc, ConnectionRefusedError):
        return "refused", _("The server refused the connection (check host and port).")
    if isinstance(exc, OSError):
        return "unreachable", _("The server could not be reached: %(reason)s") % {
            "reason": exc.strerror or exc
        }
    return None
