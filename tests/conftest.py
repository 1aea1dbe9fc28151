"""Shared fixtures. Real servers (Dovecot, aiosmtpd, Redis, Chromium) live in tests/servers/."""
