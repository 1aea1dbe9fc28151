"""Refuse mail hosts that point into private networks (SSRF guard).

A user who may configure an IMAP/SMTP host could otherwise make the server connect to
internal services. Hosts named in ``POSTACI_MAIL_HOST_ALLOWLIST`` (``host`` or ``host:port``)
are exempt; the test suite lists its loopback servers there.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.messages import HOST_MISSING, HOST_NOT_FOUND, HOST_PRIVATE


def _allowed(host: str, port: int) -> bool:
    entries = {entry.strip().lower() for entry in settings.POSTACI_MAIL_HOST_ALLOWLIST}
    host = host.lower()
    return host in entries or f"{host}:{port}" in entries


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_mail_host(host: str, port: int) -> None:
    """Raise ``MailHostNotAllowed`` unless ``host`` resolves only to public addresses
    (or is allow-listed); raise ``MailConnectionError(code="dns")`` if it doesn't resolve."""
    host = (host or "").strip()
    if not host:
        raise MailConnectionError(HOST_MISSING(), code="dns")
    if _allowed(host, port):
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MailConnectionError(HOST_NOT_FOUND(host=host), code="dns") from exc
    for info in infos:
        if _is_private(info[4][0]):
            raise MailHostNotAllowed(HOST_PRIVATE(host=host))
