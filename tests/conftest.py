"""Shared fixtures. Real servers (Dovecot, aiosmtpd, Redis/Celery) live in tests/servers/;
their fixtures are listed in tests/servers/fixtures.py."""

import pytest
from django.utils import translation

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a test client request in Turkish activates
    it for the rest of the thread (Django's LocaleMiddleware activates per request and
    never resets), which would leak into the next test's form and service messages."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _send_at_once(settings):
    """Send goes out at once in tests (no undo window); the undo tests set their own."""
    settings.POSTACI_UNDO_SEND_SECONDS = 0
