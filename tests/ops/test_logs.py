"""LOG_FORMAT=json: one JSON object per line with the account, task and request ids; a real
fetch and a real send through a real worker log no password, token or message text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from mailboxes.sending.compose import Mailbox
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.send import email_send
from ops.log_format import ContextFilter, JsonFormatter
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

IMAP_PASSWORD = "Imap-Secret-4711"
WRONG_PASSWORD = "Wrong-Secret-0815"
SMTP_PASSWORD = "Smtp-Secret-2323"
FETCHED_BODY = "Confidential order details 9182"
SENT_BODY = "Private reply words 5150"
METRICS_TOKEN = "Metrics-Token-6060"


@pytest.fixture
def json_log(celery_worker) -> Iterator[io.StringIO]:
    """What a LOG_FORMAT=json console handler writes during the test (at the default INFO),
    from the test and from the real worker (started first: its start configures logging)."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # LOG_LEVEL's default (a worker started earlier may raise it)
    root.addHandler(handler)
    yield output
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(output: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_ids_and_no_secrets(
    json_log, dovecot, make_group_account, make_smtp_group, smtp_server_factory, settings
):
    from crm.models import User
    from mailboxes.models import Email, RawMessage
    from mailboxes.tasks import fetch_account

    settings.POSTACI_METRICS_TOKEN = METRICS_TOKEN
    # a fetch that imports, and one the server refuses
    good = dovecot.add_user("logs", password=IMAP_PASSWORD)
    dovecot.append(good, "INBOX", make_message(subject="Order", body=FETCHED_BODY))
    account = make_group_account(good, name="Logged")
    refused = make_group_account(dovecot.add_user("refused"), imap_password=WRONG_PASSWORD)
    fetch_account.delay(account.pk)
    fetch_account.delay(refused.pk)
    assert wait_until(lambda: RawMessage.objects.filter(account=account).exists(), timeout=30)

    # a send through an SMTP server that wants a password
    server = smtp_server_factory(auth=("mailer", SMTP_PASSWORD))
    group = make_smtp_group(server)
    agent = User.objects.create_user("agent", email="agent@example.test")
    agent.roles.add(role("all"))
    data = ComposeData(
        from_account_id=group.pk, to=[Mailbox("customer@example.com")], subject="Re: Order"
    )
    data.body_text = SENT_BODY
    email = email_send(user=agent, data=data)
    assert wait_until(
        lambda: Email.objects.get(pk=email.pk).status == Email.Status.SENT, timeout=30
    )
    assert server.wait_for_messages(1)
    # a request that logs (503: no beat, no worker on this app's queue answered in time)
    Client().get("/readyz", HTTP_X_REQUEST_ID="req-abc-123")
    assert wait_until(
        lambda: any(line.get("account_id") == refused.pk for line in _lines(json_log)),
        timeout=20,
    ), json_log.getvalue()

    lines = _lines(json_log)  # every line is one JSON object
    assert lines
    fetch_lines = [line for line in lines if line.get("account_id") in (account.pk, refused.pk)]
    assert fetch_lines and all(line.get("task_id") for line in fetch_lines)
    assert any(line.get("request_id") == "req-abc-123" for line in lines)
    text = json_log.getvalue()
    for secret in (
        IMAP_PASSWORD,
        WRONG_PASSWORD,
        SMTP_PASSWORD,
        FETCHED_BODY,
        SENT_BODY,
        METRICS_TOKEN,
        settings.SECRET_KEY,
        *settings.POSTACI_ENCRYPTION_KEYS,
    ):
        assert secret not in text


def test_request_id_goes_back_in_the_response():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="from-the-proxy-1")
    assert response["X-Request-ID"] == "from-the-proxy-1"
    generated = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert len(generated) == 32 and "\n" not in generated


def test_log_format_json_setting_configures_the_console(tmp_path):
    """The environment variable alone switches a process (web, worker, beat) to JSON."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('postaci.test').warning('hello %s', 'world')"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [line] = [line for line in result.stderr.splitlines() if "postaci.test" in line]
    entry = json.loads(line)
    assert entry["message"] == "hello world" and entry["level"] == "WARNING"
