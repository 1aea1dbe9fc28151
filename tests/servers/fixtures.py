"""pytest fixtures for the real servers; loaded by tests/conftest.py through ``pytest_plugins``.

The list, with what each gives, is in tests/servers/__init__.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import suppress

import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.core.cache import cache

from . import celery_worker as celery_testing
from .dns import DnsServer
from .dovecot import DovecotServer, ImapUser
from .oauth import OAuthClient, OAuthServer
from .relay import MailRelay
from .smtp import SmtpServer, TlsMode
from .tls import TestCertificate, make_test_certificate
from .web import WebServer

LOOPBACK_MAIL_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture(scope="session", autouse=True)
def _allow_loopback_mail_hosts() -> Iterator[None]:
    """The product refuses loopback mail hosts unless allow-listed; the test servers are one."""
    previous = django_settings.POSTACI_MAIL_HOST_ALLOWLIST
    django_settings.POSTACI_MAIL_HOST_ALLOWLIST = [*previous, *LOOPBACK_MAIL_HOSTS]
    yield
    django_settings.POSTACI_MAIL_HOST_ALLOWLIST = previous


@pytest.fixture(scope="session")
def test_certificate() -> Iterator[TestCertificate]:
    """The certificate of every test mail server; the product is told to trust it."""
    directory = tempfile.mkdtemp(prefix="postaci-cert-")
    certificate = make_test_certificate(directory)
    previous = django_settings.POSTACI_MAIL_CA_FILE
    django_settings.POSTACI_MAIL_CA_FILE = certificate.cert_path
    yield certificate
    django_settings.POSTACI_MAIL_CA_FILE = previous
    shutil.rmtree(directory, ignore_errors=True)


# --- OAuth 2.0 ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _oauth_session_server(test_certificate: TestCertificate) -> Iterator[OAuthServer]:
    """The session's OAuth server; Dovecot checks tokens with it, tests use ``oauth_server``."""
    with OAuthServer(test_certificate) as server:
        yield server


@pytest.fixture
def oauth_server(_oauth_session_server: OAuthServer) -> Iterator[OAuthServer]:
    """The session's OAuth 2.0 authorization server (tests/servers/oauth.py), forgotten after
    the test: clients, users, tokens, switches and counters never leak into the next one."""
    yield _oauth_session_server
    _oauth_session_server.reset()


@pytest.fixture
def oauth_client(oauth_server: OAuthServer) -> OAuthClient:
    """A new confidential client: random id and secret, redirect URI
    ``http://127.0.0.1/oauth/callback``, the server's token lifetime (5 s). Change it with
    ``oauth_server.update_client(oauth_client.client_id, redirect_uris=[...], ...)``."""
    return oauth_server.add_client()


# --- IMAP -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot(
    test_certificate: TestCertificate, _oauth_session_server: OAuthServer
) -> Iterator[DovecotServer]:
    """A Dovecot for this session (each xdist worker has its own); see tests/servers/dovecot.py.

    Password logins as ever, and XOAUTH2/OAUTHBEARER logins checked with the OAuth server.
    """
    with DovecotServer(
        test_certificate, oauth_introspection_url=_oauth_session_server.endpoints.introspect
    ) as server:
        yield server


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> ImapUser:
    """A new, empty mailbox (INBOX plus Sent, Drafts, Trash, Junk, Archive)."""
    return dovecot.add_user()


@pytest.fixture
def imap_oauth_user(dovecot: DovecotServer, oauth_server: OAuthServer) -> ImapUser:
    """A new, empty mailbox whose user name is its address (``o-…@example.test``), which is
    also an account at ``oauth_server``: it logs in with that account's access tokens
    (XOAUTH2/OAUTHBEARER), and with its password too, so the ``dovecot`` helpers work."""
    user = dovecot.add_user("o", domain="example.test")
    oauth_server.add_user(user.email)
    return user


# --- SMTP -----------------------------------------------------------------------------------


@pytest.fixture
def smtp_server_factory(
    request: pytest.FixtureRequest, test_certificate: TestCertificate
) -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers with AUTH and/or TLS: ``make(auth=("u", "pw"), tls="starttls")``.

    ``make(oauth=True)`` takes AUTH XOAUTH2/OAUTHBEARER with ``oauth_server``'s tokens (and
    password AUTH too if ``auth`` is also given).
    """
    servers: list[SmtpServer] = []

    def make(
        *, auth: tuple[str, str] | None = None, tls: TlsMode = "none", oauth: bool = False
    ) -> SmtpServer:
        introspection_url = None
        if oauth:
            oauth_server: OAuthServer = request.getfixturevalue("oauth_server")
            introspection_url = oauth_server.endpoints.introspect
        server = SmtpServer(
            auth=auth,
            tls=tls,
            certificate=test_certificate,
            oauth_introspection_url=introspection_url,
        ).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no AUTH, no TLS) that captures every message it accepts."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_relay(dovecot: DovecotServer) -> Iterator[MailRelay]:
    """SMTP → IMAP: accepts like ``smtp_server`` and delivers each message into the test
    Dovecot mailbox of every recipient added with ``mail_relay.add_mailbox(user)``."""
    with MailRelay(dovecot) as relay:
        yield relay


@pytest.fixture
def use_as_system_smtp(
    settings, monkeypatch: pytest.MonkeyPatch, test_certificate: TestCertificate
) -> Callable[[SmtpServer], SmtpServer]:
    """Return ``point(server)``, which sends Django's system email (``send_mail``) to *server*.

    Django's SMTP backend verifies certificates against the system CAs only, so for a TLS
    server ``SSL_CERT_FILE`` points at the test certificate for the rest of the test.
    """

    def point(server: SmtpServer) -> SmtpServer:
        for name, value in server.django_email_settings().items():
            setattr(settings, name, value)
        if server.tls != "none":
            monkeypatch.setenv("SSL_CERT_FILE", test_certificate.cert_path)
        return server

    return point


@pytest.fixture
def system_smtp_server(
    smtp_server: SmtpServer, use_as_system_smtp: Callable[[SmtpServer], SmtpServer]
) -> SmtpServer:
    """``smtp_server``, with Django's system email settings (EMAIL_*) pointed at it."""
    return use_as_system_smtp(smtp_server)


# --- Celery ---------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Point crm's Celery app at the test Redis, under a key prefix of this session only.

    Done before collection: importing a module that uses a task can bind the tasks, and a
    task reads settings such as ``task_ignore_result`` when it is bound.
    """
    from config.celery import app

    label = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = celery_testing.new_key_prefix(label)
    celery_testing.configure_for_tests(app, url=celery_testing.redis_url(), key_prefix=prefix)
    django_settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture(scope="session", autouse=True)
def celery_test_app() -> Iterator[Celery]:
    """crm's Celery app, sending to the test Redis under this session's own key prefix.

    Applies to the whole suite, so a ``.delay()`` anywhere can never reach a real queue (such
    as the ``var/broker`` one ``make run`` consumes). Connecting is lazy: tests that send
    nothing do not need Redis. This session's keys are deleted at the end.
    """
    from config.celery import app

    yield app
    app.close()
    # Redis may be down when no test needed it; then there is nothing to delete either.
    with suppress(redis.exceptions.ConnectionError):
        celery_testing.delete_keys(
            app.conf.broker_url, app.conf.broker_transport_options["global_keyprefix"]
        )


@pytest.fixture
def celery_worker(transactional_db, celery_test_app: Celery):
    """A real Celery worker thread consuming this session's queue for the test's duration.

    Send tasks as the product does (``task.delay(...)``) and wait with
    ``result.get(timeout=10)``, which re-raises the task's exception. The worker has its own
    database connection, hence ``transactional_db``: the data a test creates is committed.
    Messages left in the queue by earlier tests are purged first.
    """
    celery_test_app.control.purge()
    with celery_testing.running_worker(celery_test_app) as worker:
        yield worker


# --- DNS and HTTP (settings discovery) -----------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _loopback_dns() -> Iterator[None]:
    """Settings discovery asks a DNS server on loopback that knows no name, unless a test
    gives it a zone (``dns_server``): no test depends on, or queries, the machine's DNS."""
    previous = django_settings.POSTACI_DNS_NAMESERVERS
    with DnsServer() as server:
        django_settings.POSTACI_DNS_NAMESERVERS = [server.nameserver]
        yield
    django_settings.POSTACI_DNS_NAMESERVERS = previous


@pytest.fixture
def dns_server(settings) -> Iterator[DnsServer]:
    """A DNS server on loopback that the product asks (``POSTACI_DNS_NAMESERVERS``); give it
    records with ``dns_server.serve(zone_text)``. The discovery cache starts empty."""
    with DnsServer() as server:
        settings.POSTACI_DNS_NAMESERVERS = [server.nameserver]
        cache.clear()
        yield server
    cache.clear()


@pytest.fixture
def web_server_factory() -> Iterator[Callable[..., WebServer]]:
    """Start HTTP servers on port 80 (443 with ``tls=certificate``) of a loopback address of
    their own: ``make(tls=None, hang=False, drip=0)``; see tests/servers/web.py."""
    servers: list[WebServer] = []

    def make(
        *, tls: TestCertificate | None = None, hang: bool = False, drip: float = 0
    ) -> WebServer:
        server = WebServer(tls=tls, hang=hang, drip=drip).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
