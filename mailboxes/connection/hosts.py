"""Refuse mail hosts that point into private networks (SSRF guard).

A user who may configure an IMAP/SMTP host could otherwise make the server connect to
internal services. Hosts named in ``POSTACI_MAIL_HOST_ALLOWLIST`` (``host`` or ``host:port``)
are exempt; the test suite lists its loopback servers there.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from django.conf import settings

from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.messages import HOST_MISSING, HOST_NOT_FOUND, HOST_PRIVATE

# Turns a host name into its addresses; raises MailConnectionError when it cannot.
Resolve = Callable[[str, int], list[str]]


def host_allowed(host: str, port: int) -> bool:
    """Whether ``host`` (or ``host:port``) is on ``POSTACI_MAIL_HOST_ALLOWLIST``."""
    entries = {entry.strip().lower() for entry in settings.POSTACI_MAIL_HOST_ALLOWLIST}
    host = host.lower().rstrip(".")
    return host in entries or f"{host}:{port}" in entries


def is_private_address(address: str) -> bool:
    """Loopback, private, link-local, reserved or multicast: anything not on the Internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def checked_addresses(host: str, port: int, *, resolve: Resolve | None = None) -> list[str]:
    """Return the addresses of ``host`` a caller may connect to: all of them public, or the
    host allow-listed. Connecting to one of these (not resolving the name again) is what
    keeps DNS rebinding out between the check and the connection.

    Raise ``MailHostNotAllowed`` when any address is private and the host is not allowed;
    ``MailConnectionError(code="dns")`` when the name does not resolve.
    """
    host = (host or "").strip()
    if not host:
        raise MailConnectionError(HOST_MISSING(), code="dns")
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        addresses = (resolve or system_addresses)(host, port)
    if host_allowed(host, port):
        return addresses
    for address in addresses:
        if is_private_address(address):
            raise _not_allowed(host)
    return addresses


def system_addresses(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives ``host`` (``/etc/hosts`` included)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MailConnectionError(HOST_NOT_FOUND(host=host), code="dns") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def _not_allowed(host: str) -> MailHostNotAllowed:
    return MailHostNotAllowed(HOST_PRIVATE(host=host))


def check_mail_host(host: str, port: int) -> None:
    """Raise ``MailHostNotAllowed`` unless ``host`` resolves only to public addresses
    (or is allow-listed); raise ``MailConnectionError(code="dns")`` if it doesn't resolve."""
    host = (host or "").strip()
    if host and host_allowed(host, port):
        return  # allowed without asking DNS, as before: the connection resolves it
    checked_addresses(host, port)
