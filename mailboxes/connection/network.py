"""What IMAP and SMTP connections share: the TLS trust store and network errors in plain words."""

from __future__ import annotations

import errno
import resource
import socket
import ssl
from functools import lru_cache

from django.conf import settings

from crm.messages import Message
from mailboxes.messages import (
    CERTIFICATE_UNTRUSTED,
    CONNECTION_REFUSED,
    HOST_NOT_FOUND,
    OUT_OF_FILES,
    TIMEOUT,
    TLS_FAILED,
    UNREACHABLE,
)


def mail_ssl_context() -> ssl.SSLContext:
    """The TLS context every IMAP and SMTP connection shares: the system trust store, plus
    ``POSTACI_MAIL_CA_FILE`` when set (a private CA).

    Built once per CA file, not per connection: building one costs about 20 ms of CPU and
    840 kB kept per connection (measured with 1,000 IDLE connections, issue 15), and an
    ``SSLContext`` may be shared between threads. Nobody may change it; a caller that needs
    its own (a client certificate) takes :func:`new_mail_ssl_context`. A replaced CA file is
    read at the next start.
    """
    return _shared_mail_ssl_context(getattr(settings, "POSTACI_MAIL_CA_FILE", "") or "")


@lru_cache(maxsize=4)
def _shared_mail_ssl_context(ca_file: str) -> ssl.SSLContext:
    return new_mail_ssl_context(ca_file)


def new_mail_ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A context of one's own, trusting what :func:`mail_ssl_context` trusts."""
    context = ssl.create_default_context()
    if ca_file is None:
        ca_file = getattr(settings, "POSTACI_MAIL_CA_FILE", "")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def network_problem(exc: BaseException, host: str) -> tuple[str, Message] | None:
    """``(code, message)`` for a failure to reach a mail server — ``dns``, ``timeout``,
    ``tls``, ``refused`` or ``unreachable`` — or None when ``exc`` is something else (the
    protocol's own errors, which IMAP and SMTP word differently).

    Running out of file descriptors (EMFILE, ENFILE) is this machine's problem, not the mail
    server's: ``local_limit``, with what to do about it."""
    if is_out_of_files(exc):
        return "local_limit", out_of_files_sentence()
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


def is_out_of_files(exc: BaseException) -> bool:
    """Whether ``exc`` is this process (EMFILE) or the whole system (ENFILE) out of open files;
    the resolver reports it the same way when it cannot open its socket."""
    return isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)


def out_of_files_sentence() -> Message:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OUT_OF_FILES(limit=soft)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft open-file limit to its hard limit, as far as the system
    allows (an IDLE watcher keeps one connection per folder open); ``(before, after)``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as limit_file:  # Linux's ceiling for "unlimited"
                wanted = int(limit_file.read())
        except (OSError, ValueError):
            return soft, soft
    if wanted <= soft:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (OSError, ValueError):
        return soft, soft
    return soft, wanted
