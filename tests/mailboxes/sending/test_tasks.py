"""The send task on a real Celery worker (Redis): queued after the commit, retried with
back-off on temporary failures, never sending twice."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from mailboxes.models import Email
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.send import email_send
from mailboxes.tasks import send_email
from tests.mailboxes.sending.conftest import role
from tests.waiting import wait_until


def _wait_for_status(email: Email, status: str, timeout: float = 10.0) -> Email:
    def reached() -> bool:
        email.refresh_from_db()
        return email.status == status

    if not wait_until(reached, timeout):
        raise AssertionError(f"email stayed {email.status!r}: {email.send_error}")
    return email


@pytest.fixture
def agent(make_user):
    return make_user("agent", roles=[role("all")])


def test_compose_view_queues_the_send_after_commit_and_the_worker_sends_it(
    celery_worker, agent, make_smtp_group, smtp_server, logged_in
):
    account = make_smtp_group(smtp_server)
    response = logged_in(agent).post(
        reverse("mailboxes:compose"),
        {
            "from_account": account.pk,
            "to": "customer@example.com",
            "subject": "Through the worker",
            "body": "Hello",
            "action": "send",
        },
    )
    assert response.status_code == 302
    email = _wait_for_status(Email.objects.get(), Email.Status.SENT)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["Message-ID"].strip() == email.message_id


def test_temporary_failure_is_retried_by_the_worker(
    celery_worker, agent, make_smtp_group, smtp_server, settings
):
    settings.POSTACI_SEND_RETRY_DELAY = 0.2
    account = make_smtp_group(smtp_server)
    smtp_server.fail_next(2, code=451)
    email = email_send(
        user=agent,
        data=ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")]),
    )
    email = _wait_for_status(email, Email.Status.SENT)
    assert email.send_attempts == 3
    assert len(smtp_server.rejections) == 2 and len(smtp_server.wait_for_messages(1)) == 1


def test_the_same_task_queued_twice_sends_once(celery_worker, agent, make_smtp_group, smtp_server):
    account = make_smtp_group(smtp_server)
    email = email_send(
        user=agent,
        data=ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")]),
    )
    results = [send_email.delay(email.pk), send_email.delay(email.pk)]
    _wait_for_status(email, Email.Status.SENT)
    for result in results:
        result.get(timeout=10)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1


def test_permanent_failure_shows_failed_and_retry_sends(
    celery_worker, agent, make_smtp_group, smtp_server, logged_in
):
    account = make_smtp_group(smtp_server)
    smtp_server.fail_next(1, code=550, text="5.1.0 Sender rejected")
    email = email_send(
        user=agent,
        data=ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")]),
    )
    email = _wait_for_status(email, Email.Status.FAILED)
    assert "550 5.1.0 Sender rejected" in str(email.send_error)
    logged_in(agent).post(reverse("mailboxes:email-retry", args=[email.pk]))
    _wait_for_status(email, Email.Status.SENT)
    assert len(smtp_server.wait_for_messages(1)) == 1
