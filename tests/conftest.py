"""Shared fixtures. Real servers (Dovecot, aiosmtpd, Redis/Celery) live in tests/servers/;
their fixtures are listed in tests/servers/fixtures.py."""

pytest_plugins = ["tests.servers.fixtures"]
