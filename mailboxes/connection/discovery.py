"""Suggest the IMAP and SMTP settings of an email address (settings discovery).

The account forms call :func:`discover_settings` when the address is typed. The steps, in
order; the first that answers wins:

1. ``table``: the built-in list of big providers, by the address's domain (no network).
2. ``srv``: the domain's RFC 6186 SRV records (``_imaps``/``_imap``, and RFC 8314's
   ``_submissions`` beside ``_submission``).
3. ``autoconfig``: Thunderbird's autoconfig file, ``autoconfig.<domain>/mail/config-v1.1.xml``
   then ``<domain>/.well-known/autoconfig/mail/config-v1.1.xml``, HTTPS before HTTP.
4. ``mx``: the domain's MX records name a provider of the table, which is how a company's
   own domain at Google Workspace, Microsoft 365, Yandex 360 or Zoho is recognised (as
   Thunderbird does, after the domain's own SRV and autoconfig answers).
5. ``convention``: ``mail.<domain>``, the name Turkish hosting panels (cPanel, Plesk,
   DirectAdmin) give a domain's mail server, used only when nothing above answered and that
   name resolves to public addresses (or is allow-listed); IMAP 993 and SMTP 465, both TLS.

It only suggests: the form fills in what the user has not typed, and saving checks the hosts
again. Every DNS query and HTTP request has a short timeout
(``POSTACI_DISCOVERY_STEP_TIMEOUT``) and the whole discovery a budget
(``POSTACI_DISCOVERY_TIMEOUT``). DNS goes to ``POSTACI_DNS_NAMESERVERS`` (empty: the
system's resolv.conf). HTTP goes through the SSRF guard of :mod:`mailboxes.connection.hosts` and
connects to the address it checked, so the name cannot be re-pointed in between; a redirect
is checked the same way. Hosts that SRV records or an autoconfig file name are checked by
the same guard before they are suggested. Complete answers (found or not) are cached per
domain for a while.
"""

from __future__ import annotations

import enum
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from mailboxes.connection.hosts import checked_addresses
from mailboxes.connection.network import new_mail_ssl_context
from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.models.accounts import Security

logger = logging.getLogger(__name__)

OAUTH_GOOGLE = "google"
OAUTH_MICROSOFT = "microsoft"

CACHE_PREFIX = "postaci:discovery:v1:"
CACHE_FOUND_SECONDS = 15 * 60
CACHE_MISSING_SECONDS = 5 * 60
MAX_AUTOCONFIG_BYTES = 64 * 1024  # Thunderbird's files are 1-5 KB
MAX_REDIRECTS = 3
USER_AGENT = "Postaci settings discovery"
_MISSING = "missing"  # cached "nothing found" (the cache cannot tell a stored None)


class Source(enum.StrEnum):
    """Where a suggestion came from (the form says so to the user)."""

    TABLE = "table"
    SRV = "srv"
    AUTOCONFIG = "autoconfig"
    MX = "mx"
    CONVENTION = "convention"


class UsernameForm(enum.StrEnum):
    """What the server expects as the user name: the whole address or its local part."""

    ADDRESS = "address"
    LOCAL_PART = "local_part"


@dataclass(frozen=True)
class ServerSettings:
    """One server: host, port, a :class:`~mailboxes.models.accounts.Security` value and
    the form of the user name."""

    host: str
    port: int
    security: str
    username_form: UsernameForm = UsernameForm.ADDRESS

    def username(self, address: str) -> str:
        """The user name to suggest for ``address``."""
        if self.username_form == UsernameForm.LOCAL_PART:
            return address.rsplit("@", 1)[0]
        return address


@dataclass(frozen=True)
class DiscoveredSettings:
    """The suggestion for one domain. ``imap`` or ``smtp`` may be missing (never both);
    ``oauth_kind`` is ``"google"``, ``"microsoft"`` or empty: the provider expects
    "Sign in with …" rather than a password."""

    imap: ServerSettings | None
    smtp: ServerSettings | None
    source: Source
    display_name: str
    domain: str
    oauth_kind: str = ""


@dataclass(frozen=True)
class Provider:
    """An entry of the built-in table: known by its address domains, or by its MX hosts
    for the domains of its customers."""

    name: str
    imap: ServerSettings
    smtp: ServerSettings
    oauth_kind: str = ""
    domains: frozenset[str] = frozenset()
    domain_suffixes: tuple[str, ...] = ()
    mx_domains: tuple[str, ...] = ()

    def settings_for(self, domain: str, source: Source) -> DiscoveredSettings:
        return DiscoveredSettings(
            imap=self.imap,
            smtp=self.smtp,
            source=source,
            display_name=self.name,
            domain=domain,
            oauth_kind=self.oauth_kind,
        )


def _ssl(host: str, port: int, form: UsernameForm = UsernameForm.ADDRESS) -> ServerSettings:
    return ServerSettings(host, port, Security.SSL, form)


def _starttls(host: str, port: int) -> ServerSettings:
    return ServerSettings(host, port, Security.STARTTLS)


_GMAIL = (_ssl("imap.gmail.com", 993), _ssl("smtp.gmail.com", 465))
_OFFICE365_IMAP = _ssl("outlook.office365.com", 993)

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "Gmail",
        *_GMAIL,
        oauth_kind=OAUTH_GOOGLE,
        domains=frozenset({"gmail.com", "googlemail.com"}),
    ),
    Provider(
        "Google Workspace",
        *_GMAIL,
        oauth_kind=OAUTH_GOOGLE,
        # aspmx.l.google.com, alt1.aspmx.l.google.com, smtp.google.com, aspmx2.googlemail.com
        mx_domains=("google.com", "googlemail.com"),
    ),
    Provider(
        "Outlook.com",
        _OFFICE365_IMAP,
        _starttls("smtp-mail.outlook.com", 587),
        oauth_kind=OAUTH_MICROSOFT,
        domains=frozenset(
            {
                "outlook.com",
                "outlook.com.tr",
                "outlook.de",
                "outlook.fr",
                "hotmail.com",
                "hotmail.com.tr",
                "hotmail.co.uk",
                "hotmail.de",
                "hotmail.fr",
                "hotmail.it",
                "live.com",
                "live.co.uk",
                "live.de",
                "live.fr",
                "msn.com",
                "windowslive.com",
            }
        ),
    ),
    Provider(
        "Microsoft 365",
        _OFFICE365_IMAP,
        _starttls("smtp.office365.com", 587),
        oauth_kind=OAUTH_MICROSOFT,
        domain_suffixes=(".onmicrosoft.com",),
        # <tenant>.mail.protection.outlook.com; the newer DNSSEC MX <tenant>.<x>.mx.microsoft
        mx_domains=("mail.protection.outlook.com", "mx.microsoft"),
    ),
    Provider(
        "Yahoo Mail",
        _ssl("imap.mail.yahoo.com", 993),
        _ssl("smtp.mail.yahoo.com", 465),
        domains=frozenset(
            {
                "yahoo.com",
                "yahoo.com.tr",
                "yahoo.co.uk",
                "yahoo.de",
                "yahoo.fr",
                "ymail.com",
                "rocketmail.com",
            }
        ),
    ),
    Provider(
        "iCloud Mail",
        # Apple: IMAP takes the name part of the address, SMTP the whole address.
        _ssl("imap.mail.me.com", 993, UsernameForm.LOCAL_PART),
        _starttls("smtp.mail.me.com", 587),
        domains=frozenset({"icloud.com", "me.com", "mac.com"}),
    ),
    Provider(
        "Yandex Mail",
        _ssl("imap.yandex.com", 993),
        _ssl("smtp.yandex.com", 465),
        domains=frozenset(
            {
                "yandex.com",
                "yandex.com.tr",
                "yandex.ru",
                "ya.ru",
                "yandex.ua",
                "yandex.by",
                "yandex.kz",
                "narod.ru",
            }
        ),
        mx_domains=("mx.yandex.net", "mx.yandex.ru"),
    ),
    Provider(
        "Zoho Mail",
        _ssl("imap.zoho.com", 993),
        _ssl("smtp.zoho.com", 465),
        domains=frozenset({"zoho.com", "zohomail.com"}),
    ),
    Provider(
        # Zoho's organisation accounts (a company's own domain) use the "pro" servers.
        "Zoho Mail",
        _ssl("imappro.zoho.com", 993),
        _ssl("smtppro.zoho.com", 465),
        mx_domains=("zoho.com",),
    ),
    Provider(
        "Zoho Mail (EU)",
        _ssl("imap.zoho.eu", 993),
        _ssl("smtp.zoho.eu", 465),
        domains=frozenset({"zoho.eu", "zohomail.eu"}),
    ),
    Provider(
        "Zoho Mail (EU)",
        _ssl("imappro.zoho.eu", 993),
        _ssl("smtppro.zoho.eu", 465),
        mx_domains=("zoho.eu",),
    ),
    Provider(
        "GMX",
        _ssl("imap.gmx.com", 993),
        _starttls("mail.gmx.com", 587),
        domains=frozenset({"gmx.com", "gmx.us"}),
    ),
    Provider(
        "GMX",
        _ssl("imap.gmx.net", 993),
        _starttls("mail.gmx.net", 587),
        domains=frozenset({"gmx.net", "gmx.de", "gmx.at", "gmx.ch"}),
    ),
)

# OAuth is known by the servers too, whoever named them (SRV, autoconfig).
_OAUTH_BY_HOST = {
    server.host: provider.oauth_kind
    for provider in PROVIDERS
    if provider.oauth_kind
    for server in (provider.imap, provider.smtp)
}

# RFC 6186 services, implicit TLS first (RFC 8314 prefers it when priorities are equal).
SRV_SERVICES = {
    "imap": (("_imaps._tcp", Security.SSL), ("_imap._tcp", Security.STARTTLS)),
    "smtp": (("_submissions._tcp", Security.SSL), ("_submission._tcp", Security.STARTTLS)),
}
_SOCKET_TYPES = {"ssl": Security.SSL, "starttls": Security.STARTTLS, "plain": Security.NONE}
_USERNAME_FORMS = {
    "%EMAILADDRESS%": UsernameForm.ADDRESS,
    "%EMAILLOCALPART%": UsernameForm.LOCAL_PART,
}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")


# --- Public API ---------------------------------------------------------------------------


def discover_settings(address: str) -> DiscoveredSettings | None:
    """Suggest IMAP/SMTP settings for ``address``, or None when nothing was found in time."""
    domain = address_domain(address)
    if domain is None:
        return None
    provider = provider_for_domain(domain)
    if provider is not None:
        return provider.settings_for(domain, Source.TABLE)
    key = CACHE_PREFIX + domain
    cached = cache.get(key)
    if cached is not None:
        return None if cached == _MISSING else cached
    run = _Run()
    found = None
    try:
        for step in (_from_srv, _from_autoconfig, _from_mx, _from_convention):
            found = step(run, domain)
            if found is not None:
                break
    except _OutOfTime:
        logger.info("settings discovery for %s ran out of time", domain)
    if run.complete:
        if found is None:
            cache.set(key, _MISSING, CACHE_MISSING_SECONDS)
        else:
            cache.set(key, found, CACHE_FOUND_SECONDS)
    return found


def address_domain(address: str) -> str | None:
    """The domain of ``address`` in lower-case ASCII (IDNA), or None if it has none."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not local or len(address) > 320:
        return None
    domain = domain.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return domain if _HOST_NAME.match(domain) else None


def provider_for_domain(domain: str) -> Provider | None:
    """The table's provider of addresses at ``domain``."""
    for provider in PROVIDERS:
        if domain in provider.domains or any(
            domain.endswith(suffix) for suffix in provider.domain_suffixes
        ):
            return provider
    return None


def provider_for_mx(host: str) -> Provider | None:
    """The table's provider whose mail exchangers include ``host``."""
    host = host.lower().rstrip(".")
    for provider in PROVIDERS:
        for mx_domain in provider.mx_domains:
            if host == mx_domain or host.endswith("." + mx_domain):
                return provider
    return None


# --- One discovery: deadline, DNS -----------------------------------------------------------


class _OutOfTime(Exception):
    """The discovery's budget is spent."""


def _nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``::1`` or ``[::1]:5353``."""
    entry = entry.strip()
    host, port = entry, "53"
    if entry.startswith("["):
        host, _bracket, rest = entry[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    try:
        return dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(host)), int(port))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"POSTACI_DNS_NAMESERVERS: {entry!r} is not an IP address with an optional port"
        ) from exc


def _resolver() -> dns.resolver.Resolver | None:
    entries = [entry for entry in settings.POSTACI_DNS_NAMESERVERS if entry.strip()]
    if entries:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [_nameserver(entry) for entry in entries]
        return resolver
    try:
        return dns.resolver.Resolver()
    except (dns.resolver.NoResolverConfiguration, OSError):
        logger.warning("settings discovery: no DNS resolver is configured (resolv.conf)")
        return None


@dataclass
class _Run:
    """One discovery: its deadline, its resolver, and whether every step finished (only
    then is the answer cached: a timeout today says nothing about tomorrow)."""

    deadline: float = field(
        default_factory=lambda: time.monotonic() + settings.POSTACI_DISCOVERY_TIMEOUT
    )
    resolver: dns.resolver.Resolver | None = field(default_factory=_resolver)
    complete: bool = True
    _addresses: dict[str, list[str]] = field(default_factory=dict)

    def timeout(self) -> float:
        """Seconds the next DNS query or HTTP request may take."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.complete = False
            raise _OutOfTime
        return min(settings.POSTACI_DISCOVERY_STEP_TIMEOUT, remaining)

    def query(self, name: str, rdtype: str) -> list:
        """The records of ``name``; none when it has none or the DNS did not answer."""
        if self.resolver is None:
            self.complete = False  # no DNS today says nothing about the domain
            return []
        try:
            answer = self.resolver.resolve(
                dns.name.from_text(name), rdtype, lifetime=self.timeout(), search=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            self.complete = False
            logger.info("settings discovery: %s %s: %s", name, rdtype, type(exc).__name__)
            return []
        except dns.exception.DNSException:
            return []
        return list(answer)

    def addresses(self, host: str, port: int) -> list[str]:
        """A and AAAA of ``host`` (the guard's resolver: raise when there are none)."""
        host = host.lower().rstrip(".")
        if host not in self._addresses:
            self._addresses[host] = [
                record.address for rdtype in ("A", "AAAA") for record in self.query(host, rdtype)
            ]
        if not self._addresses[host]:
            # never shown: discovery skips such a host
            raise MailConnectionError(f"{host} has no address", code="dns")
        return self._addresses[host]

    def checked(self, host: str, port: int) -> list[str] | None:
        """The addresses of ``host`` if the SSRF guard lets it through, else None."""
        try:
            return checked_addresses(host, port, resolve=self.addresses)
        except MailHostNotAllowed:
            logger.info("settings discovery: %s points into a private network; skipped", host)
        except MailConnectionError:
            pass
        return None


def _valid_host(host: str) -> bool:
    return bool(_HOST_NAME.match(host))


def _first_usable(run: _Run, servers: Iterable[ServerSettings]) -> ServerSettings | None:
    for server in servers:
        if run.checked(server.host, server.port) is not None:
            return server
    return None


def _result(
    domain: str, source: Source, name: str, imap: ServerSettings | None, smtp: ServerSettings | None
) -> DiscoveredSettings | None:
    if imap is None and smtp is None:
        return None
    oauth = next(
        (_OAUTH_BY_HOST[s.host] for s in (imap, smtp) if s and s.host in _OAUTH_BY_HOST), ""
    )
    return DiscoveredSettings(imap, smtp, source, name, domain, oauth)


# --- Steps ---------------------------------------------------------------------------------


def _srv_candidates(run: _Run, domain: str, protocol: str) -> list[ServerSettings]:
    """The servers the SRV records of one protocol offer, best first: lower priority, then
    implicit TLS, then higher weight (a suggestion is one server, so the weighted random
    choice of RFC 2782 becomes "the heaviest")."""
    ranked = []
    for rank, (service, security) in enumerate(SRV_SERVICES[protocol]):
        records = run.query(f"{service}.{domain}", "SRV")
        if len(records) == 1 and records[0].target == dns.name.root:
            continue  # RFC 2782: a lone "." target means the service is not offered
        for record in records:
            host = record.target.to_text(omit_final_dot=True).lower()
            if _valid_host(host) and 0 < record.port < 65536:
                server = (host, record.port, security)
                ranked.append((record.priority, rank, -record.weight, server))
    return [ServerSettings(*server) for *_order, server in sorted(ranked)]


def _from_srv(run: _Run, domain: str) -> DiscoveredSettings | None:
    imap = _first_usable(run, _srv_candidates(run, domain, "imap"))
    smtp = _first_usable(run, _srv_candidates(run, domain, "smtp"))
    return _result(domain, Source.SRV, domain, imap, smtp)


def _from_autoconfig(run: _Run, domain: str) -> DiscoveredSettings | None:
    # The address itself is not sent (Thunderbird adds ?emailaddress=): answers are cached
    # per domain, and the user names come from the file's placeholders anyway.
    for scheme in ("https", "http"):
        for url in (
            f"{scheme}://autoconfig.{domain}/mail/config-v1.1.xml",
            f"{scheme}://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
        ):
            body = _fetch(run, url)
            config = parse_autoconfig(body, domain) if body is not None else None
            if config is None:
                continue
            name, imap_servers, smtp_servers = config
            found = _result(
                domain,
                Source.AUTOCONFIG,
                name,
                _first_usable(run, imap_servers),
                _first_usable(run, smtp_servers),
            )
            if found is not None:
                return found
    return None


def _from_mx(run: _Run, domain: str) -> DiscoveredSettings | None:
    for record in sorted(run.query(domain, "MX"), key=lambda record: record.preference):
        provider = provider_for_mx(record.exchange.to_text(omit_final_dot=True))
        if provider is not None:
            return provider.settings_for(domain, Source.MX)
    return None


def _from_convention(run: _Run, domain: str) -> DiscoveredSettings | None:
    host = f"mail.{domain}"
    if run.checked(host, 993) is None:
        return None
    return _result(domain, Source.CONVENTION, domain, _ssl(host, 993), _ssl(host, 465))


# --- Autoconfig files ------------------------------------------------------------------------


def parse_autoconfig(
    body: bytes, domain: str
) -> tuple[str, list[ServerSettings], list[ServerSettings]] | None:
    """``(display name, IMAP servers, SMTP servers)`` of a Thunderbird ``clientConfig``
    file, in the file's order with unencrypted servers last; None if it is not one.

    defusedxml with ``forbid_dtd``: a document type declaration is refused outright, so no
    entity can be declared, expanded (billion laughs, quadratic blow-up) or fetched
    (external entities), whatever expat the interpreter links; the files never have one.
    """
    try:
        root = parse_xml(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    provider = root.find("emailProvider") if root.tag == "clientConfig" else None
    if provider is None:
        return None
    name = _text(provider, "displayName") or _text(provider, "displayShortName") or domain
    name = " ".join(name.split())[:80] or domain
    imap = [
        server
        for element in provider.findall("incomingServer")
        if element.get("type") == "imap" and (server := _server(element, domain))
    ]
    smtp = [
        server
        for element in provider.findall("outgoingServer")
        if element.get("type") == "smtp" and (server := _server(element, domain))
    ]
    if not imap and not smtp:
        return None

    def encrypted_first(server: ServerSettings) -> bool:
        return server.security == Security.NONE

    return name, sorted(imap, key=encrypted_first), sorted(smtp, key=encrypted_first)


def _text(element: Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _server(element: Element, domain: str) -> ServerSettings | None:
    host = _text(element, "hostname").replace("%EMAILDOMAIN%", domain).lower().rstrip(".")
    port = _text(element, "port")
    security = _SOCKET_TYPES.get(_text(element, "socketType").lower())
    if not _valid_host(host) or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if security is None:
        return None
    form = _USERNAME_FORMS.get(_text(element, "username"), UsernameForm.ADDRESS)
    return ServerSettings(host, int(port), security, form)


# --- HTTP through the SSRF guard -------------------------------------------------------------


def _fetch(run: _Run, url: str) -> bytes | None:
    """The body of ``url`` if it answers 200 with at most ``MAX_AUTOCONFIG_BYTES``.

    Each hop (the URL, then any redirect) is checked by the SSRF guard and connected to the
    address the guard checked. A redirect from HTTPS to HTTP is not followed.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            return None
        addresses = run.checked(host, port)
        if addresses is None:
            return None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        status, location, body = _get(run, parts.scheme, host, port, addresses[0], target)
        if status in (301, 302, 303, 307, 308) and location:
            following = urljoin(url, location)
            if parts.scheme == "https" and urlsplit(following).scheme != "https":
                return None
            url = following
            continue
        return body if status == 200 else None
    return None


def _get(
    run: _Run, scheme: str, host: str, port: int, address: str, target: str
) -> tuple[int, str, bytes | None]:
    """GET ``target`` from ``address`` (as ``host``): ``(status, Location, body)``; status 0
    when it failed. The request as a whole, connection and slow answers included, ends
    after one step timeout: a timer shuts the socket down."""
    limit = run.timeout()
    connection: HTTPConnection
    if scheme == "https":
        connection = HTTPSConnection(
            address,
            port,
            timeout=limit,
            server_hostname=host,
            assert_hostname=host,
            # urllib3 changes the context it is given (it checks the name itself): its own
            ssl_context=new_mail_ssl_context(),
        )
    else:
        connection = HTTPConnection(address, port, timeout=limit)
    cut = threading.Event()
    held: list[socket.socket] = []
    watchdog = threading.Timer(limit, _cut_off, args=(connection, held, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        # http.client forgets the socket once the answer will close it; the timer must not
        held.append(connection.sock)
        connection.request(
            "GET",
            target,
            headers={
                "Host": host if port in (80, 443) else f"{host}:{port}",
                "Accept": "application/xml, text/xml",
                "Accept-Encoding": "identity",
                "User-Agent": USER_AGENT,
            },
            preload_content=False,
        )
        response = connection.getresponse()
        location = response.headers.get("Location", "")
        if response.status != 200:
            return response.status, location, None
        body = _read_capped(response)
        return response.status, location, None if cut.is_set() else body
    except (OSError, ssl.SSLError, HTTPError, http.client.HTTPException, ValueError) as exc:
        logger.info("settings discovery: %s://%s%s: %s", scheme, host, target, exc)
        if isinstance(exc, (TimeoutError, Urllib3TimeoutError)):
            # the socket's own timeout can beat the timer (a busy machine): the same "no
            # answer in time", which says nothing about tomorrow
            run.complete = False
        return 0, "", None
    finally:
        watchdog.cancel()
        connection.close()
        for sock in held:
            sock.close()
        if cut.is_set():
            run.complete = False


def _read_capped(response) -> bytes | None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_AUTOCONFIG_BYTES:
        return None
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None  # asked for identity; a compressed body could be a bomb
    chunks, size = [], 0
    while chunk := response.read1(16384, decode_content=False):
        size += len(chunk)
        if size > MAX_AUTOCONFIG_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _cut_off(connection: HTTPConnection, held: list[socket.socket], cut: threading.Event) -> None:
    """Shut the connection's socket down under the reading thread, which then sees the end
    of the stream. socket.socket's own shutdown, also for TLS: SSLSocket.shutdown would drop
    the TLS state the other thread is reading with."""
    cut.set()
    for sock in [connection.sock, *held]:
        if sock is not None:
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


__all__ = [
    "OAUTH_GOOGLE",
    "OAUTH_MICROSOFT",
    "PROVIDERS",
    "DiscoveredSettings",
    "Provider",
    "ServerSettings",
    "Source",
    "UsernameForm",
    "address_domain",
    "discover_settings",
    "parse_autoconfig",
    "provider_for_domain",
    "provider_for_mx",
]
