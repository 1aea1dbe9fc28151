"""Webhook deliveries to a receiver on loopback: signed, retried, at least once with a
stable id, never carrying what the endpoint's owner could not see."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from crm.models import Notification, Team
from crm.records import record_create, record_update
from crm.stream import note_create
from mailboxes.intake.fetch import fetch_account
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.send import email_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role
from tests.servers.tls import make_test_certificate
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.sending import delivery_attempt
from webhooks.tasks import deliver_webhook


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does (the README's recipe)."""
    parts = dict(item.split("=", 1) for item in headers["Postaci-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def send_all() -> list[WebhookDelivery]:
    return [
        delivery_attempt(str(pk)) for pk in WebhookDelivery.objects.values_list("pk", flat=True)
    ]


def test_case_created_is_delivered_signed(make_user, make_endpoint, receiver):
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"])
    case = record_create(Case(name="Printer on fire", priority="urgent"), user=admin)
    [delivery] = send_all()
    assert delivery.status == "delivered" and delivery.last_status_code == 200
    [(headers, body)] = receiver.requests
    assert verify("whsec-test", headers, body)
    assert not verify("another-secret", headers, body)
    payload = json.loads(body)
    assert payload["event"] == "case.created" == headers["Postaci-Event"]
    assert payload["id"] == headers["Postaci-Delivery"] == str(delivery.pk)
    assert payload["data"]["id"] == case.pk and payload["data"]["priority"] == "urgent"


def test_a_500_is_retried_later_with_the_same_delivery_id(
    make_user, make_endpoint, receiver, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        deliver_webhook, "apply_async", lambda args, countdown: queued.append((args, countdown))
    )
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"])
    receiver.statuses = [500]
    record_create(Case(name="x"), user=admin)
    [first] = send_all()
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    [(args, countdown)] = queued
    assert args == (str(first.pk),) and 25 <= countdown <= 30
    second = delivery_attempt(str(first.pk))
    assert second.status == "delivered" and second.attempts == 2
    ids = [headers["Postaci-Delivery"] for headers, _body in receiver.requests]
    assert ids == [str(first.pk), str(first.pk)]
    assert delivery_attempt(str(first.pk)) is None  # delivered: never sent twice by a task
    assert len(receiver.requests) == 2


def test_nothing_is_sent_for_a_rolled_back_change(make_user, make_endpoint, receiver):
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"])
    with pytest.raises(RuntimeError), transaction.atomic():
        record_create(Case(name="x"), user=admin)
        raise RuntimeError
    assert not WebhookDelivery.objects.exists()


def test_payload_never_holds_what_the_owner_cannot_see(make_user, make_record, make_endpoint):
    owner = make_user(level="own")  # no longer an administrator, say
    other = make_user(level="own")
    make_endpoint(owner, ["case.created", "case.updated", "note.created"])
    hidden_case = record_create(Case(name="Secret", assigned_user=other), user=other)
    note_create(parent=hidden_case, author=other, body="salary details")
    assert not WebhookDelivery.objects.exists()
    hidden_account = make_record("account", other)
    visible = record_create(
        Case(name="Mine", assigned_user=owner, account=hidden_account), user=owner
    )
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["id"] == visible.pk
    assert delivery.payload["data"]["account"] is None  # not even its id


def test_filter_by_team(make_user, make_endpoint):
    admin = make_user(admin=True)
    support = Team.objects.create(name="Support")
    make_endpoint(admin, ["case.updated"], team=support)
    theirs = record_create(Case(name="Other team"), user=admin)
    record_update(theirs, user=admin)
    assert not WebhookDelivery.objects.exists()
    ours = record_create(Case(name="Ours"), user=admin, teams=[support])
    record_update(ours, user=admin)
    assert [d.payload["data"]["id"] for d in WebhookDelivery.objects.all()] == [ours.pk]


def test_filter_by_group_account(make_user, make_endpoint, make_smtp_group, smtp_server):
    admin = make_user(admin=True)
    support, billing = make_smtp_group(smtp_server), make_smtp_group(smtp_server)
    make_endpoint(admin, ["case.created"], group_account=support)
    record_create(Case(name="Billing's", group_account=billing), user=admin)
    record_create(Case(name="No mailbox"), user=admin)
    ours = record_create(Case(name="Support's", group_account=support), user=admin)
    assert [d.payload["data"]["id"] for d in WebhookDelivery.objects.all()] == [ours.pk]


def test_email_sent_event(make_user, make_endpoint, make_smtp_group, smtp_server, receiver):
    admin = make_user(admin=True)
    agent = make_user(roles=[role("all")])
    account = make_smtp_group(smtp_server)
    make_endpoint(admin, ["email.sent"])
    email = email_send(
        user=agent,
        data=ComposeData(
            from_account_id=account.pk, to=[Mailbox("customer@example.com")], subject="Hi"
        ),
    )
    email_deliver(email.pk)
    [delivery] = send_all()
    assert delivery.status == "delivered"
    data = receiver.payloads()[0]["data"]
    assert data["id"] == email.pk and data["to"] == [
        {"address": "customer@example.com", "name": ""}
    ]


def test_an_endpoint_failing_for_a_day_is_turned_off_and_its_owner_told(
    make_user, make_endpoint, receiver
):
    admin = make_user(admin=True)
    endpoint = make_endpoint(admin, ["case.created"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=1, seconds=1)
    )
    receiver.statuses = [503]
    record_create(Case(name="x"), user=admin)
    [delivery] = send_all()
    assert delivery.status == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    notification = Notification.objects.get(user=admin, type="message")
    assert "Billing" in str(notification.message)


def test_administration_pages(make_user, logged_in, receiver):
    admin = make_user(admin=True)
    client = logged_in(admin)
    refused = client.post(
        reverse("webhooks:endpoint-create"),
        {"name": "Intranet", "url": "http://10.1.2.3/hook", "events": ["case.created"]},
    )
    assert refused.status_code == 200 and not WebhookEndpoint.objects.exists()
    response = client.post(
        reverse("webhooks:endpoint-create"),
        {"name": "CRM", "url": receiver.url, "events": ["case.created"], "is_active": "on"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and endpoint.owner == admin and len(endpoint.secret) > 20
    record_create(Case(name="x"), user=admin)
    [delivery] = send_all()
    log = client.get(reverse("webhooks:endpoint-log", args=[endpoint.pk])).content.decode()
    assert str(delivery.pk) in log and "HTTP 200" in log
    assert "A case was created" in log  # what it listens to, not only where it sends
    client.post(reverse("webhooks:delivery-send-again", args=[endpoint.pk, delivery.pk]))
    ids = [headers["Postaci-Delivery"] for headers, _body in receiver.requests]
    assert ids == [str(delivery.pk), str(delivery.pk)]
    # deleting takes the whole log with it: the page asks first
    delete_url = reverse("webhooks:endpoint-delete", args=[endpoint.pk])
    asked = client.get(delete_url)
    assert asked.status_code == 200 and "CRM" in asked.content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert client.post(delete_url).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    other = logged_in(make_user(level="all"))
    assert other.get(reverse("webhooks:endpoint-list")).status_code == 403


def test_the_request_goes_to_the_address_the_guard_checked(
    make_user, make_endpoint, receiver, monkeypatch, settings
):
    """DNS rebinding: the name is resolved once, by the SSRF guard, and the POST connects to
    that address. ``hooks.rebind.test`` exists only for the guard's resolver (the system's
    would not find it), so a second look-up would fail the delivery."""
    looked_up = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr("mailboxes.connection.hosts.system_addresses", resolver)
    settings.POSTACI_MAIL_HOST_ALLOWLIST = ["hooks.rebind.test"]
    port = receiver.server.server_address[1]
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"], url=f"http://hooks.rebind.test:{port}/hook?x=1")
    record_create(Case(name="Rebinding"), user=admin)
    [delivery] = send_all()
    assert delivery.status == "delivered", delivery.last_error
    assert looked_up == ["hooks.rebind.test"]
    [(headers, body)] = receiver.requests
    assert headers["Host"] == f"hooks.rebind.test:{port}"
    assert verify("whsec-test", headers, body)


@pytest.mark.parametrize(
    "certificate_name, delivered", [("hooks.rebind.test", True), ("other.test", False)]
)
def test_https_checks_the_certificate_against_the_url_host_name(
    make_user, make_endpoint, receiver, monkeypatch, settings, tmp_path, certificate_name, delivered
):
    """Connecting to the checked address does not weaken TLS: SNI and the certificate check
    use the URL's host name (a certificate for another name is refused although it also
    names the address connected to)."""
    certificate = make_test_certificate(tmp_path, names=(certificate_name,))
    receiver.server.socket = certificate.server_context().wrap_socket(
        receiver.server.socket, server_side=True
    )
    monkeypatch.setenv("SSL_CERT_FILE", certificate.cert_path)
    monkeypatch.setattr(
        "mailboxes.connection.hosts.system_addresses", lambda host, port: ["127.0.0.1"]
    )
    settings.POSTACI_MAIL_HOST_ALLOWLIST = ["hooks.rebind.test"]
    port = receiver.server.server_address[1]
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"], url=f"https://hooks.rebind.test:{port}/hook")
    record_create(Case(name="TLS"), user=admin)
    [delivery] = send_all()
    if delivered:
        assert delivery.status == "delivered"
        assert len(receiver.requests) == 1
    else:
        assert delivery.status == "pending" and delivery.last_error == "connection"
        assert receiver.requests == []


def _readme_block(language: str, after: str) -> str:
    """The first ``language`` code block of the README after the line containing ``after``."""
    readme = (django_settings.BASE_DIR / "README.md").read_text()
    rest = readme[readme.index(after) :]
    start = rest.index(f"```{language}\n") + len(language) + 4
    return rest[start : rest.index("```", start)]


def _signature(secret: str, t: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_the_readmes_verification_recipes_accept_deliveries_and_refuse_forgeries(
    make_user, make_endpoint, receiver, tmp_path
):
    """The README's Python and shell recipes, run as written on a real delivery: it is
    valid; a forged, truncated, empty or old signature, or another secret, is not."""
    admin = make_user(admin=True)
    make_endpoint(admin, ["case.created"])
    record_create(Case(name="Recipe"), user=admin)
    send_all()
    [(headers, body)] = receiver.requests
    header = headers["Postaci-Signature"]
    t = int(header.split(",")[0][2:])
    old = int(time.time()) - 3600
    cases = {
        header: True,
        header[:-1] + ("0" if header[-1] != "0" else "1"): False,
        f"t={t},v1=" + header.split("v1=")[1][:8]: False,  # a prefix of the right one
        f"t={t},v1=a": False,
        f"t={t},v1=": False,
        _signature("whsec-test", old, body): False,  # signed right, but an hour ago
        _signature("whsec-test", t, body) + "0": False,
    }
    namespace: dict = {}
    exec(_readme_block("python", "Verify it:"), namespace)
    shell = _readme_block("sh", "or in a shell")
    (tmp_path / "body.json").write_bytes(body)
    for signature, valid in cases.items():
        assert namespace["verify"]("whsec-test", signature, body) is valid, signature
        for secret in ("whsec-test", "another"):
            result = subprocess.run(
                ["bash", "-c", shell],
                cwd=tmp_path,
                env={"PATH": os.environ["PATH"], "SIG": signature, "SECRET": secret},
                capture_output=True,
                text=True,
                timeout=30,
            )
            expected = valid and secret == "whsec-test"
            assert (result.stdout.strip() == "valid") is expected, (signature, secret, result)
    assert not namespace["verify"]("another", header, body)


def test_email_received_through_imap_for_the_endpoints_team(
    make_user, make_endpoint, make_group_account, imap_user, dovecot, receiver
):
    """Mail fetched from Dovecot is delivered as ``email.received`` to an endpoint of the
    group mailbox's team; an endpoint of another team hears nothing. The first fetch of an
    account is its history: no event."""
    admin = make_user(admin=True)
    support, sales = Team.objects.create(name="Support"), Team.objects.create(name="Sales")
    account = make_group_account(imap_user, name="Support", teams=[support])
    ours = make_endpoint(admin, ["email.received"], team=support)
    make_endpoint(admin, ["email.received"], team=sales, name="Sales")
    dovecot.deliver(imap_user, make_message(subject="Old news"))
    assert not fetch_account(account.pk).errors  # the first fetch: history
    assert not WebhookDelivery.objects.exists()
    dovecot.deliver(
        imap_user, make_message(subject="Order 7 is late", sender="Ayşe <ayse@acme.example>")
    )
    assert not fetch_account(account.pk).errors
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == ours and delivery.event == "email.received"
    [sent] = send_all()
    assert sent.status == "delivered"
    [(headers, body)] = receiver.requests
    assert verify("whsec-test", headers, body)
    data = json.loads(body)["data"]
    assert data["subject"] == "Order 7 is late"
    assert data["from"] == {"address": "ayse@acme.example", "name": "Ayşe"}
    assert data["to"] == [{"address": "support@example.test", "name": ""}]
