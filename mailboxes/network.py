"""What IMAP and SMTP connections share: the TLS trust store and network errors in plain words."""

from __future__ import annotations

import errno
import resource
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
    protocol's own errors, which IMAP and SMTP word differently).

    Running out of file descriptors (EMFILE, ENFILE) is this machine's problem, not the mail
    server's: ``local_limit``, with what to do about it."""
    if is_out_of_files(exc):
        return "local_limit", out_of_files_sentence()
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


def is_out_of_files(exc: BaseException) -> bool:
    """Whether ``exc`` is this process (EMFILE) or the whole system (ENFILE) out of open files;
    the resolver reports it the same way when it cannot open its socket."""
    return isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)


def out_of_files_sentence() -> str:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _(
        "This Postaci process has reached its limit of %(limit)s open files, so the mail "
        "server was not contacted. Raise the open-file limit of the watcher and the workers "
        "(LimitNOFILE= in their systemd units, ulimit -n in a shell) or run watchmail in more "
        "shards (--shard)."
    ) % {"limit": soft}


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
