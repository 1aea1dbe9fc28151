"""What the console log shows for refused requests and for real server errors."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the project's console handler (settings.LOGGING) writes during the test."""
    handler = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    output = io.StringIO()
    previous = handler.setStream(output)
    yield output
    handler.setStream(previous)


def test_permission_refusal_logs_one_line_with_reason_and_user(console, make_user, logged_in):
    user = make_user("agent")
    client = logged_in(user)

    assert client.get(reverse("filters:create") + "?scope=global").status_code == 403

    lines = console.getvalue().splitlines()
    assert len(lines) == 1, console.getvalue()
    assert "WARNING django.request Forbidden (Permission denied): /filters/new/" in lines[0]
    assert "Only administrators manage global and group filters." in lines[0]
    assert f"user {user.pk}" in lines[0]
    assert "Traceback" not in console.getvalue()


@pytest.mark.urls("tests.crm.error_urls")
def test_server_error_still_logs_its_traceback(console, db):
    client = Client(raise_request_exception=False)

    assert client.get("/broken/").status_code == 500

    output = console.getvalue()
    assert "ERROR django.request Internal Server Error: /broken/" in output
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: the database exploded" in output


@pytest.mark.urls("tests.crm.error_urls")
def test_server_error_is_mailed_to_the_admins(console, db, settings, mailoutbox):
    """Django's mail_admins, configured by settings.LOGGING with a handler that imports the
    exception reporter (django.views.debug) only with the first error it mails."""
    settings.ADMINS = [("Operations", "ops@example.com")]
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    assert client.get("/broken/").status_code == 500

    [message] = mailoutbox
    assert message.to == ["ops@example.com"]
    assert "Internal Server Error: /broken/" in message.subject
    assert "RuntimeError at /broken/\nthe database exploded" in message.body
    assert "Traceback (most recent call last)" in message.body


@pytest.mark.urls("tests.crm.error_urls")
def test_refused_requests_and_errors_without_admins_mail_nobody(console, db, settings, mailoutbox):
    settings.ADMINS = []
    client = Client(raise_request_exception=False)

    assert client.get("/broken/").status_code == 500
    assert client.get("/filters/new/?scope=global").status_code in (302, 403)
    assert mailoutbox == []
