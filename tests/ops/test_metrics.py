"""/metrics: access by token or allow-list, and figures a real fetch through a real worker
produced, parsed with Prometheus's own text parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cases.models import AutoReplyLog, Case
from crm.models import User
from mailboxes.models import Email, MailAccount, OutgoingMessage
from ops.models import Tally
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def metrics_settings(settings):
    settings.POSTACI_METRICS_TOKEN = TOKEN
    settings.POSTACI_METRICS_ALLOW = []
    return settings


def scrape(**headers) -> tuple[int, str]:
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample by (name, sorted labels), parsed as Prometheus would."""
    parsed = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def test_metrics_refuse_without_the_token_or_an_allowed_address(metrics_settings):
    assert scrape()[0] == 403
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong")[0] == 403
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200
    metrics_settings.POSTACI_METRICS_TOKEN = ""
    assert scrape(HTTP_AUTHORIZATION="Bearer ")[0] == 403  # no token set: no token works
    metrics_settings.POSTACI_METRICS_ALLOW = ["10.0.0.0/8", "127.0.0.1"]
    assert scrape()[0] == 200  # the test client comes from 127.0.0.1
    metrics_settings.POSTACI_METRICS_ALLOW = ["10.0.0.0/8"]
    assert scrape()[0] == 403


def test_metrics_after_real_fetches(metrics_settings, ops_mailboxes, celery_worker):
    from mailboxes.tasks import fetch_account

    support, sales, team = ops_mailboxes
    fetch_account.delay(support.pk)
    fetch_account.delay(sales.pk)
    assert wait_until(
        lambda: (
            Tally.objects.filter(metric="postaci_fetches_total").first()
            and Tally.objects.get(metric="postaci_fetches_total").value == 2
        ),
        timeout=30,
    )
    # what other parts of Postaci leave in the database
    email = Email.objects.get(subject="Where is my order?")
    Case.objects.create(name="Where is my order?", group_account=support).teams.set([team])
    agent = User.objects.create_user("agent", email="agent@example.test")
    Case.objects.create(name="Second", assigned_user=agent).teams.set([team])
    AutoReplyLog.objects.create(email=email, outcome="sent")
    AutoReplyLog.objects.create(
        email=email,
        outcome="refused",
        reason={
            "code": "cases.guard.sender_limit",
            "params": {"count": 5, "period": "2h", "limit": 5},
        },
    )
    reply = Email.objects.create(
        message_id="<out@postaci.local>", subject="Re", status=Email.Status.SENDING
    )
    OutgoingMessage.objects.create(email=reply)
    MailAccount.objects.filter(pk=sales.pk).update(created_at=timezone.now() - timedelta(hours=2))

    status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200
    got = samples(text)
    support_labels = (("account", "Support"), ("account_id", str(support.pk)))
    sales_labels = (("account", "Sales"), ("account_id", str(sales.pk)))

    assert got[("postaci_fetches_total", ())] == 2
    assert got[("postaci_messages_total", (("outcome", "imported"),))] == 1
    assert got[("postaci_messages_total", (("outcome", "duplicate"),))] == 1
    assert got.get(("postaci_fetch_failures_total", (("reason", "auth"),))) == 1, (
        [key for key in got if "failures" in key[0]],
        MailAccount.objects.get(pk=sales.pk).last_error.as_json(),
    )
    assert got[("postaci_fetch_duration_seconds_count", ())] == 2
    assert got[("postaci_fetch_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert got[("postaci_fetch_messages_bucket", (("le", "0"),))] == 1  # Sales got nothing
    assert got[("postaci_fetch_messages_sum", ())] == 2

    # Support was fetched a moment ago; Sales never, since it was added two hours ago
    assert got[("postaci_mailbox_lag_seconds", (*support_labels, ("folder", "INBOX")))] < 60
    sales_lag = got[("postaci_mailbox_lag_seconds", (*sales_labels, ("folder", "INBOX")))]
    assert 7100 < sales_lag < 7300
    assert got[("postaci_mailbox_seconds_since_fetch", support_labels)] < 60
    assert ("postaci_mailbox_seconds_since_fetch", sales_labels) not in got
    assert got[("postaci_mailbox_consecutive_failures", sales_labels)] == 1
    assert got[("postaci_idle_connections", ())] == 0

    assert got[("postaci_send_queue_length", ())] == 1
    assert got[("postaci_auto_replies_total", (("outcome", "sent"), ("reason", "")))] == 1
    refused = (("outcome", "refused"), ("reason", "cases.guard.sender_limit"))
    assert got[("postaci_auto_replies_total", refused)] == 1
    assert got[("postaci_cases_opened_total", (("team", "Helpdesk"),))] == 2
    assert got[("postaci_cases_assigned_total", (("team", "Helpdesk"),))] == 1
    assert ("postaci_celery_queue_length", (("queue", "fetch_now"),)) in got

    # bounded labels: no addresses, no Message-IDs, no secrets
    for leak in ("@", "Where is my order", "wrong password", TOKEN):
        assert leak not in text
