"""Settings discovery against real servers: a DNS server and HTTP(S) servers on loopback.

The test DNS server (tests/servers/dns.py) is the only one the product asks, so every name
below exists only in the zone a test writes. Names whose addresses are loopback are
allow-listed by the tests that expect them to be used, as an administrator would.
"""

from __future__ import annotations

import ssl

import pytest
from django.core.cache import cache

from mailboxes.connection.discovery import (
    CACHE_PREFIX,
    MAX_AUTOCONFIG_BYTES,
    DiscoveredSettings,
    ServerSettings,
    Source,
    UsernameForm,
    discover_settings,
)
from mailboxes.models import Security
from tests.servers.tls import make_test_certificate
from tests.servers.web import Response

AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"


def zone(*records: str) -> str:
    """Zone-file text; names are absolute, the TTL is 300."""
    return "\n".join(
        f"{record.split(maxsplit=1)[0]} 300 {record.split(maxsplit=1)[1]}" for record in records
    )


def autoconfig_xml(domain: str, name: str = "Example Hosting Mail") -> bytes:
    """A clientConfig as Thunderbird's ISPDB writes them: POP3 listed first, IMAP with the
    local part as user name, SMTP on %EMAILDOMAIN% with the whole address."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="{domain}">
    <domain>{domain}</domain>
    <displayName>{name}</displayName>
    <displayShortName>Example</displayShortName>
    <incomingServer type="pop3">
      <hostname>pop.{domain}</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap-plain.{domain}</hostname>
      <port>143</port>
      <socketType>plain</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.{domain}</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.%EMAILDOMAIN%</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
""".encode()


@pytest.fixture
def allow(settings):
    """``allow("name", …)``: put host names on POSTACI_MAIL_HOST_ALLOWLIST for this test."""

    def add(*names: str) -> None:
        settings.POSTACI_MAIL_HOST_ALLOWLIST = [*settings.POSTACI_MAIL_HOST_ALLOWLIST, *names]

    return add


@pytest.fixture
def quick(settings):
    """Short step timeouts, so the tests of servers that never answer end soon."""
    settings.POSTACI_DISCOVERY_STEP_TIMEOUT = 0.5
    settings.POSTACI_DISCOVERY_TIMEOUT = 3.0


# --- The built-in table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "provider", "imap", "smtp", "oauth_kind"),
    [
        (
            "Ayse.Yilmaz@GMAIL.com",
            "Gmail",
            ("imap.gmail.com", 993, Security.SSL),
            ("smtp.gmail.com", 465, Security.SSL),
            "google",
        ),
        (
            "ali@hotmail.com",
            "Outlook.com",
            ("outlook.office365.com", 993, Security.SSL),
            ("smtp-mail.outlook.com", 587, Security.STARTTLS),
            "microsoft",
        ),
        (
            "it@contoso.onmicrosoft.com",
            "Microsoft 365",
            ("outlook.office365.com", 993, Security.SSL),
            ("smtp.office365.com", 587, Security.STARTTLS),
            "microsoft",
        ),
        (
            "ali@yahoo.com.tr",
            "Yahoo Mail",
            ("imap.mail.yahoo.com", 993, Security.SSL),
            ("smtp.mail.yahoo.com", 465, Security.SSL),
            "",
        ),
        (
            "ayse@icloud.com",
            "iCloud Mail",
            ("imap.mail.me.com", 993, Security.SSL),
            ("smtp.mail.me.com", 587, Security.STARTTLS),
            "",
        ),
        (
            "ali@yandex.com.tr",
            "Yandex Mail",
            ("imap.yandex.com", 993, Security.SSL),
            ("smtp.yandex.com", 465, Security.SSL),
            "",
        ),
        (
            "ali@zohomail.com",
            "Zoho Mail",
            ("imap.zoho.com", 993, Security.SSL),
            ("smtp.zoho.com", 465, Security.SSL),
            "",
        ),
        (
            "ali@gmx.de",
            "GMX",
            ("imap.gmx.net", 993, Security.SSL),
            ("mail.gmx.net", 587, Security.STARTTLS),
            "",
        ),
    ],
)
def test_big_provider_address_is_answered_from_the_table_without_dns(
    dns_server, address, provider, imap, smtp, oauth_kind
):
    found = discover_settings(address)

    assert found is not None and found.source == Source.TABLE
    assert found.display_name == provider
    assert (found.imap.host, found.imap.port, found.imap.security) == imap
    assert (found.smtp.host, found.smtp.port, found.smtp.security) == smtp
    assert found.oauth_kind == oauth_kind
    assert dns_server.queries == []


def test_icloud_user_names_are_the_local_part_for_imap_and_the_address_for_smtp(dns_server):
    found = discover_settings("ayse@icloud.com")

    assert found.imap.username("ayse@icloud.com") == "ayse"
    assert found.smtp.username("ayse@icloud.com") == "ayse@icloud.com"


@pytest.mark.parametrize(
    "address", ["ali", "ali@", "@gmail.com", "ali@localhost", "ali@[10.0.0.1]"]
)
def test_address_without_a_usable_domain_gives_nothing_and_asks_nothing(dns_server, address):
    assert discover_settings(address) is None
    assert dns_server.queries == []


# --- MX: a company's own domain at a big provider --------------------------------------------


@pytest.mark.parametrize(
    ("mx", "provider", "imap_host", "smtp_host", "oauth_kind"),
    [
        ("aspmx.l.google.com", "Google Workspace", "imap.gmail.com", "smtp.gmail.com", "google"),
        ("smtp.google.com", "Google Workspace", "imap.gmail.com", "smtp.gmail.com", "google"),
        (
            "acme-test.mail.protection.outlook.com",
            "Microsoft 365",
            "outlook.office365.com",
            "smtp.office365.com",
            "microsoft",
        ),
        ("mx.yandex.net", "Yandex Mail", "imap.yandex.com", "smtp.yandex.com", ""),
        ("mx.zoho.eu", "Zoho Mail (EU)", "imappro.zoho.eu", "smtppro.zoho.eu", ""),
    ],
)
def test_company_domain_is_recognised_by_its_mx_records(
    dns_server, allow, mx, provider, imap_host, smtp_host, oauth_kind
):
    dns_server.serve(
        zone(
            "acme.test. IN MX 5 filter.acme.test.",
            f"acme.test. IN MX 10 {mx}.",
            "filter.acme.test. IN A 127.0.0.1",
            # mail.acme.test exists too: the MX answer comes first
            "mail.acme.test. IN A 127.0.0.1",
        )
    )
    allow("mail.acme.test")

    found = discover_settings("support@acme.test")

    assert found.source == Source.MX
    assert found.display_name == provider
    assert (found.imap.host, found.smtp.host) == (imap_host, smtp_host)
    assert found.oauth_kind == oauth_kind
    assert found.imap.username("support@acme.test") == "support@acme.test"


# --- SRV (RFC 6186 and RFC 8314) ------------------------------------------------------------


def test_srv_records_give_the_servers_and_the_answer_is_cached(dns_server, allow):
    dns_server.serve(
        zone(
            "_imaps._tcp.srv.test. IN SRV 0 1 993 imap.srv.test.",
            "_submission._tcp.srv.test. IN SRV 0 1 587 smtp.srv.test.",
            "imap.srv.test. IN A 127.0.0.1",
            "smtp.srv.test. IN A 127.0.0.1",
            "mail.srv.test. IN A 127.0.0.1",
        )
    )
    allow("imap.srv.test", "smtp.srv.test", "mail.srv.test")

    found = discover_settings("ali@srv.test")

    assert found == DiscoveredSettings(
        imap=ServerSettings("imap.srv.test", 993, Security.SSL),
        smtp=ServerSettings("smtp.srv.test", 587, Security.STARTTLS),
        source=Source.SRV,
        display_name="srv.test",
        domain="srv.test",
    )
    asked = len(dns_server.queries)
    assert discover_settings("veli@srv.test") == found
    assert len(dns_server.queries) == asked


def test_srv_priority_comes_first_then_implicit_tls_then_weight(dns_server, allow):
    dns_server.serve(
        zone(
            "_imaps._tcp.order.test. IN SRV 10 1 993 imaps.order.test.",
            "_imap._tcp.order.test. IN SRV 0 1 143 imap.order.test.",
            "_submission._tcp.order.test. IN SRV 5 100 587 submission.order.test.",
            "_submissions._tcp.order.test. IN SRV 5 1 465 light.order.test.",
            "_submissions._tcp.order.test. IN SRV 5 50 465 heavy.order.test.",
            *(
                f"{name}.order.test. IN A 127.0.0.1"
                for name in ("imaps", "imap", "submission", "light", "heavy")
            ),
        )
    )
    allow(*(f"{name}.order.test" for name in ("imaps", "imap", "submission", "light", "heavy")))

    found = discover_settings("ali@order.test")

    assert found.imap == ServerSettings("imap.order.test", 143, Security.STARTTLS)
    assert found.smtp == ServerSettings("heavy.order.test", 465, Security.SSL)


def test_srv_target_dot_means_the_service_is_not_offered(dns_server, allow):
    dns_server.serve(
        zone(
            "_imaps._tcp.dot.test. IN SRV 0 0 0 .",
            "_imap._tcp.dot.test. IN SRV 0 1 143 mail.dot.test.",
            "_submissions._tcp.dot.test. IN SRV 0 0 0 .",
            "mail.dot.test. IN A 127.0.0.1",
        )
    )
    allow("mail.dot.test")

    found = discover_settings("ali@dot.test")

    assert found.source == Source.SRV
    assert found.imap == ServerSettings("mail.dot.test", 143, Security.STARTTLS)
    assert found.smtp is None


def test_srv_target_in_a_private_network_is_not_suggested(dns_server, allow):
    dns_server.serve(
        zone(
            "_imaps._tcp.split.test. IN SRV 0 1 993 internal.split.test.",
            "_imaps._tcp.split.test. IN SRV 10 1 993 public.split.test.",
            "_submissions._tcp.split.test. IN SRV 0 1 465 internal.split.test.",
            "internal.split.test. IN A 10.20.30.40",
            "public.split.test. IN A 127.0.0.1",
        )
    )
    allow("public.split.test")  # stands for a public address

    found = discover_settings("ali@split.test")

    assert found.imap == ServerSettings("public.split.test", 993, Security.SSL)
    assert found.smtp is None


# --- Autoconfig files --------------------------------------------------------------------------


def test_autoconfig_file_is_read_over_https_from_the_autoconfig_host(
    dns_server, allow, web_server_factory, settings, tmp_path
):
    certificate = make_test_certificate(tmp_path, names=("autoconfig.tls.test",))
    settings.POSTACI_MAIL_CA_FILE = certificate.cert_path
    web = web_server_factory(tls=certificate)
    web.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("tls.test"))
    dns_server.serve(
        zone(
            f"autoconfig.tls.test. IN A {web.address}",
            "imap.tls.test. IN A 127.0.0.1",
            "imap-plain.tls.test. IN A 127.0.0.1",
            "smtp.tls.test. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.tls.test", "imap.tls.test", "imap-plain.tls.test", "smtp.tls.test")

    found = discover_settings("ayse@tls.test")

    assert found == DiscoveredSettings(
        imap=ServerSettings("imap.tls.test", 993, Security.SSL, UsernameForm.LOCAL_PART),
        smtp=ServerSettings("smtp.tls.test", 587, Security.STARTTLS, UsernameForm.ADDRESS),
        source=Source.AUTOCONFIG,
        display_name="Example Hosting Mail",
        domain="tls.test",
    )
    # asked by name over TLS (certificate checked for that name) at the address checked
    assert web.requests == [("autoconfig.tls.test", AUTOCONFIG_PATH)]


def test_autoconfig_file_is_read_over_http_from_the_well_known_path(
    dns_server, allow, web_server_factory
):
    web = web_server_factory()
    web.routes[WELL_KNOWN_PATH] = Response(autoconfig_xml("wk.test", name="WK Mail"))
    dns_server.serve(
        zone(
            f"wk.test. IN A {web.address}",
            "imap.wk.test. IN A 127.0.0.1",
            "smtp.wk.test. IN A 127.0.0.1",
        )
    )
    allow("wk.test", "imap.wk.test", "smtp.wk.test")

    found = discover_settings("ali@wk.test")

    assert found.source == Source.AUTOCONFIG and found.display_name == "WK Mail"
    assert found.imap.host == "imap.wk.test" and found.smtp.host == "smtp.wk.test"
    assert web.requests == [("wk.test", WELL_KNOWN_PATH)]


def test_autoconfig_naming_a_big_provider_carries_its_oauth_kind(
    dns_server, allow, web_server_factory
):
    web = web_server_factory()
    web.routes[AUTOCONFIG_PATH] = Response(
        autoconfig_xml("hosted.test")
        .replace(b"imap.hosted.test", b"imap.gmail.com")
        .replace(b"smtp.%EMAILDOMAIN%", b"smtp.gmail.com")
    )
    dns_server.serve(
        zone(
            f"autoconfig.hosted.test. IN A {web.address}",
            "imap.gmail.com. IN A 127.0.0.1",
            "smtp.gmail.com. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.hosted.test", "imap.gmail.com", "smtp.gmail.com")

    found = discover_settings("ali@hosted.test")

    assert found.source == Source.AUTOCONFIG
    assert found.oauth_kind == "google"


def test_autoconfig_host_resolving_to_loopback_is_not_asked_unless_allowed(
    dns_server, web_server_factory
):
    web = web_server_factory()
    web.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("inside.test"))
    dns_server.serve(
        zone(
            f"autoconfig.inside.test. IN A {web.address}",
            f"inside.test. IN A {web.address}",
            "imap.inside.test. IN A 127.0.0.1",
            "smtp.inside.test. IN A 127.0.0.1",
        )
    )

    assert discover_settings("ali@inside.test") is None
    assert web.requests == []


def test_redirect_to_a_private_host_is_not_followed(dns_server, allow, web_server_factory):
    front, inside = web_server_factory(), web_server_factory()
    front.routes[AUTOCONFIG_PATH] = Response(
        status=302, headers={"Location": f"http://internal.redir.test{AUTOCONFIG_PATH}"}
    )
    inside.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("redir.test"))
    dns_server.serve(
        zone(
            f"autoconfig.redir.test. IN A {front.address}",
            f"internal.redir.test. IN A {inside.address}",
            "imap.redir.test. IN A 127.0.0.1",
            "smtp.redir.test. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.redir.test", "imap.redir.test", "smtp.redir.test")

    assert discover_settings("ali@redir.test") is None
    assert front.requests == [("autoconfig.redir.test", AUTOCONFIG_PATH)]
    assert inside.requests == []


def test_redirect_to_an_allowed_host_is_checked_and_followed(dns_server, allow, web_server_factory):
    front, config = web_server_factory(), web_server_factory()
    front.routes[AUTOCONFIG_PATH] = Response(
        status=301, headers={"Location": "http://config.moved.test/isp/moved.test.xml"}
    )
    config.routes["/isp/moved.test.xml"] = Response(autoconfig_xml("moved.test"))
    dns_server.serve(
        zone(
            f"autoconfig.moved.test. IN A {front.address}",
            f"config.moved.test. IN A {config.address}",
            "imap.moved.test. IN A 127.0.0.1",
            "smtp.moved.test. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.moved.test", "config.moved.test", "imap.moved.test", "smtp.moved.test")

    found = discover_settings("ali@moved.test")

    assert found.source == Source.AUTOCONFIG and found.imap.host == "imap.moved.test"
    assert config.requests == [("config.moved.test", "/isp/moved.test.xml")]


def test_redirect_from_https_to_http_is_not_followed(
    dns_server, allow, web_server_factory, settings, tmp_path
):
    certificate = make_test_certificate(tmp_path, names=("autoconfig.down.test",))
    settings.POSTACI_MAIL_CA_FILE = certificate.cert_path
    front, plain = web_server_factory(tls=certificate), web_server_factory()
    front.routes[AUTOCONFIG_PATH] = Response(
        status=302, headers={"Location": f"http://plain.down.test{AUTOCONFIG_PATH}"}
    )
    plain.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("down.test"))
    dns_server.serve(
        zone(
            f"autoconfig.down.test. IN A {front.address}",
            f"plain.down.test. IN A {plain.address}",
            "imap.down.test. IN A 127.0.0.1",
            "smtp.down.test. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.down.test", "plain.down.test", "imap.down.test", "smtp.down.test")

    assert discover_settings("ali@down.test") is None
    assert front.requests == [("autoconfig.down.test", AUTOCONFIG_PATH)]
    assert plain.requests == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<clientConfig version="1.1"><emailProvider id="bad.test"><displayName>&d;</displayName>
<incomingServer type="imap"><hostname>imap.bad.test</hostname><port>993</port>
<socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(autoconfig_xml("bad.test")[:400], id="truncated"),
        pytest.param(b"<html><body>Welcome to our site</body></html>", id="html"),
        pytest.param(b"\x00\xff not xml at all", id="binary"),
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param(
            autoconfig_xml("bad.test")
            .replace(b"<port>993</port>", b"<port>99999</port>")
            .replace(b"<port>143</port>", b"<port>x</port>")
            .replace(b"<hostname>smtp.%EMAILDOMAIN%", b"<hostname>-bad-.%EMAILDOMAIN%"),
            id="invalid-servers",
        ),
        pytest.param(
            autoconfig_xml("bad.test") + b"<!--" + b"x" * MAX_AUTOCONFIG_BYTES + b"-->",
            id="oversize",
        ),
    ],
)
def test_unusable_autoconfig_file_is_ignored_and_the_next_step_answers(
    dns_server, allow, web_server_factory, body
):
    web = web_server_factory()
    web.routes[AUTOCONFIG_PATH] = Response(body)
    dns_server.serve(
        zone(
            f"autoconfig.bad.test. IN A {web.address}",
            "imap.bad.test. IN A 127.0.0.1",
            "smtp.bad.test. IN A 127.0.0.1",
            "bad.test. IN MX 10 aspmx.l.google.com.",
        )
    )
    allow("autoconfig.bad.test", "imap.bad.test", "smtp.bad.test")

    found = discover_settings("ali@bad.test")

    assert web.requests == [("autoconfig.bad.test", AUTOCONFIG_PATH)]
    assert found.source == Source.MX and found.display_name == "Google Workspace"


def test_oversize_autoconfig_without_a_declared_length_is_cut_off(
    dns_server, allow, web_server_factory
):
    web = web_server_factory()
    body = autoconfig_xml("big.test") + b" " * (2 * MAX_AUTOCONFIG_BYTES)
    # no Content-Length: the body ends when the server closes the connection
    web.routes[AUTOCONFIG_PATH] = Response(body, headers={"Content-Length": ""})
    dns_server.serve(
        zone(
            f"autoconfig.big.test. IN A {web.address}",
            "imap.big.test. IN A 127.0.0.1",
            "smtp.big.test. IN A 127.0.0.1",
        )
    )
    allow("autoconfig.big.test", "imap.big.test", "smtp.big.test")

    assert discover_settings("ali@big.test") is None
    assert web.requests == [("autoconfig.big.test", AUTOCONFIG_PATH)]


# --- The mail.<domain> convention --------------------------------------------------------------


@pytest.mark.parametrize("domain", ["firma.com.tr", "şirket.com.tr"])
def test_mail_subdomain_is_suggested_when_nothing_else_answers(dns_server, allow, domain):
    ascii_domain = domain.encode("idna").decode()
    dns_server.serve(zone(f"mail.{ascii_domain}. IN A 127.0.0.1"))
    allow(f"mail.{ascii_domain}")  # stands for the hosting company's public address

    found = discover_settings(f"muhasebe@{domain}")

    assert found == DiscoveredSettings(
        imap=ServerSettings(f"mail.{ascii_domain}", 993, Security.SSL),
        smtp=ServerSettings(f"mail.{ascii_domain}", 465, Security.SSL),
        source=Source.CONVENTION,
        display_name=ascii_domain,
        domain=ascii_domain,
    )


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1"])
def test_mail_subdomain_in_a_private_network_is_not_suggested(dns_server, address):
    dns_server.serve(zone(f"mail.lan.test. IN A {address}"))

    assert discover_settings("ali@lan.test") is None


def test_domain_without_any_settings_gives_nothing_and_is_not_asked_again_soon(dns_server):
    assert discover_settings("ali@nothing.test") is None
    asked = len(dns_server.queries)
    assert asked > 0

    assert discover_settings("veli@nothing.test") is None
    assert len(dns_server.queries) == asked


# --- Time limits -------------------------------------------------------------------------------


def test_dns_server_that_never_answers_ends_the_discovery_unanswered_and_uncached(settings, quick):
    from tests.servers.dns import DnsServer

    cache.clear()
    with DnsServer(silent=True) as silent:
        settings.POSTACI_DNS_NAMESERVERS = [silent.nameserver]
        assert discover_settings("ali@slow.test") is None
    assert cache.get(CACHE_PREFIX + "slow.test") is None


def test_autoconfig_server_that_never_answers_is_given_up_for_the_next_step(
    dns_server, allow, web_server_factory, quick
):
    web = web_server_factory(hang=True)
    dns_server.serve(
        zone(
            f"autoconfig.hang.test. IN A {web.address}",
            "hang.test. IN MX 10 aspmx.l.google.com.",
        )
    )
    allow("autoconfig.hang.test")

    found = discover_settings("ali@hang.test")

    assert web.requests == [("autoconfig.hang.test", AUTOCONFIG_PATH)]  # asked, never answered
    assert found.source == Source.MX
    assert cache.get(CACHE_PREFIX + "hang.test") is None  # a timeout is not remembered


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_autoconfig_server_that_answers_too_slowly_is_cut_off_for_the_next_step(
    dns_server, allow, web_server_factory, quick, settings, tmp_path, tls
):
    certificate = None
    if tls:
        certificate = make_test_certificate(tmp_path, names=("autoconfig.drip.test",))
        settings.POSTACI_MAIL_CA_FILE = certificate.cert_path
    # every piece comes well within the step timeout, the whole answer far after it
    web = web_server_factory(drip=0.2, tls=certificate)
    web.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("drip.test"))
    dns_server.serve(
        zone(
            f"autoconfig.drip.test. IN A {web.address}",
            "imap.drip.test. IN A 127.0.0.1",
            "smtp.drip.test. IN A 127.0.0.1",
            "drip.test. IN MX 10 aspmx.l.google.com.",
        )
    )
    allow("autoconfig.drip.test", "imap.drip.test", "smtp.drip.test")

    found = discover_settings("ali@drip.test")

    assert web.requests == [("autoconfig.drip.test", AUTOCONFIG_PATH)]
    assert found.source == Source.MX


def test_https_discovery_leaves_the_shared_mail_tls_context_checking_host_names(
    dns_server, allow, web_server_factory, settings, tmp_path
):
    """urllib3 turns hostname checking off on the context it is handed (it checks the name
    itself): discovery must hand it its own, or every later IMAP/SMTP connection would stop
    checking the server's name."""
    from mailboxes.connection.network import mail_ssl_context

    certificate = make_test_certificate(tmp_path, names=("autoconfig.tls.test",))
    settings.POSTACI_MAIL_CA_FILE = certificate.cert_path
    web = web_server_factory(tls=certificate)
    web.routes[AUTOCONFIG_PATH] = Response(autoconfig_xml("tls.test"))
    dns_server.serve(zone(f"autoconfig.tls.test. IN A {web.address}"))
    allow("autoconfig.tls.test")

    discover_settings("ayse@tls.test")

    assert web.requests  # the file was fetched over HTTPS
    shared = mail_ssl_context()
    assert shared.check_hostname and shared.verify_mode == ssl.CERT_REQUIRED
