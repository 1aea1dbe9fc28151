"""Send later and undo send against a real aiosmtpd server and PostgreSQL: a scheduled email
waits in the database, leaves once when due (ETA task, beat's job or both), and Undo, Cancel
and Edit take it back into the drafts unless it has left; every race has exactly one winner."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.scheduling import install_default_jobs
from mailboxes.models import Email, OutgoingMessage
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.exceptions import NotSendable
from mailboxes.sending.scheduling import email_schedule, email_unschedule, scheduled_send_due
from tests.cases.conftest import run_workers
from tests.mailboxes.sending.conftest import role

ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")


@pytest.fixture
def agent(make_user):
    user = make_user("agent", roles=[role("all")])
    user.time_zone = "Europe/Istanbul"
    user.save(update_fields=["time_zone"])
    return user


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server)


def _data(account, **fields) -> ComposeData:
    data = ComposeData(
        from_account_id=account.pk,
        to=[Mailbox("customer@example.com", "Ayşe Yılmaz")],
        subject="Later",
        body_text="Written now, sent later.",
    )
    for name, value in fields.items():
        setattr(data, name, value)
    return data


def _make_due(email: Email) -> None:
    OutgoingMessage.objects.filter(pk=email.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_a_scheduled_email_waits_and_leaves_once_due_with_the_date_it_left(
    agent, support, smtp_server
):
    send_at = timezone.now() + timedelta(hours=2)
    email = email_schedule(user=agent, data=_data(support), send_at=send_at)
    assert email.status == Email.Status.SCHEDULED
    assert email.outgoing.scheduled_at == send_at

    assert email_deliver(email.pk).status == "skipped"  # an early task sends nothing
    assert scheduled_send_due() == 0
    assert smtp_server.messages == []

    _make_due(email)
    before = timezone.now().replace(microsecond=0)
    assert scheduled_send_due() == 1
    assert email_deliver(email.pk).status == "sent"
    [captured] = smtp_server.wait_for_messages(1)
    assert parsedate_to_datetime(captured.message["Date"]) >= before
    assert captured.message["Subject"] == "Later"
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert captured.message["Message-ID"].strip() == email.message_id


@pytest.mark.django_db
def test_a_task_arriving_early_waits_for_the_time(agent, support, smtp_server):
    soon = email_schedule(
        user=agent, data=_data(support), send_at=timezone.now() + timedelta(seconds=3)
    )
    outcome = email_deliver(soon.pk)
    assert outcome.status == "busy" and 2 < outcome.retry_in <= 3  # the task retries then
    later = email_schedule(
        user=agent, data=_data(support), send_at=timezone.now() + timedelta(hours=3)
    )
    assert email_deliver(later.pk).status == "skipped"  # beat's job will see to it
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_undo_takes_the_email_back_into_the_draft_and_nothing_leaves(agent, support, smtp_server):
    email = email_schedule(
        user=agent,
        data=_data(support),
        send_at=timezone.now() + timedelta(seconds=10),
        undo_window=True,
    )
    draft = email_unschedule(user=agent, email=email)
    assert draft.status == Email.Status.DRAFT
    assert draft.body_text == "Written now, sent later."
    assert draft.outgoing.scheduled_at is None
    _make_due(email)  # whatever a late task or beat finds afterwards
    assert scheduled_send_due() == 0
    assert email_deliver(email.pk).status == "skipped"
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_once_released_it_is_too_late_to_undo(agent, support, smtp_server):
    email = email_schedule(user=agent, data=_data(support), send_at=timezone.now())
    assert email_deliver(email.pk).status == "sent"
    with pytest.raises(NotSendable, match="already been sent"):
        email_unschedule(user=agent, email=email)
    assert len(smtp_server.wait_for_messages(1)) == 1


@pytest.mark.django_db
def test_only_the_author_can_take_a_scheduled_email_back(agent, support, make_user):
    other = make_user("other", roles=[role("all")])
    email = email_schedule(
        user=agent, data=_data(support), send_at=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(NotSendable):
        email_unschedule(user=other, email=email)
    email.refresh_from_db()
    assert email.status == Email.Status.SCHEDULED


@pytest.mark.django_db
def test_edit_keeps_the_time_and_cancel_forgets_it(agent, support, logged_in):
    send_at = timezone.now() + timedelta(days=1)
    email = email_schedule(user=agent, data=_data(support), send_at=send_at)
    client = logged_in(agent)
    response = client.post(reverse("mailboxes:email-unschedule", args=[email.pk]), {"then": "edit"})
    assert response.url == reverse("mailboxes:compose-draft", args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.DRAFT and email.outgoing.scheduled_at == send_at
    page = client.get(response.url).content.decode()
    local = timezone.localtime(send_at, ISTANBUL).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{local}"' in page  # the Send later field offers the time again

    email = email_schedule(user=agent, data=_data(support), send_at=send_at, draft=email)
    client.post(reverse("mailboxes:email-unschedule", args=[email.pk]), {"then": "cancel"})
    email.refresh_from_db()
    assert email.status == Email.Status.DRAFT and email.outgoing.scheduled_at is None


@pytest.mark.django_db
def test_send_later_reads_the_time_in_the_users_time_zone(agent, support, logged_in):
    local = (timezone.now() + timedelta(days=2)).astimezone(ISTANBUL).replace(second=0)
    local = local.replace(microsecond=0)
    response = logged_in(agent).post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "customer@example.com",
            "subject": "Tomorrow",
            "body": "Hello",
            "action": "schedule",
            "send_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    email = Email.objects.get()
    assert email.status == Email.Status.SCHEDULED
    assert email.outgoing.scheduled_at == local  # 15:00 in Istanbul is 12:00 UTC
    assert not email.outgoing.undo_window


@pytest.mark.django_db
def test_send_later_refuses_a_time_in_the_past(agent, support, logged_in):
    past = (timezone.now() - timedelta(hours=1)).astimezone(ISTANBUL)
    client = logged_in(agent)
    client.post(reverse("crm:language"), {"language": "tr"})
    response = client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "customer@example.com",
            "body": "Hello",
            "action": "schedule",
            "send_at": past.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert "Gelecekte bir zaman seçin." in response.content.decode()
    assert not Email.objects.exists()


@pytest.mark.django_db
def test_send_waits_the_undo_window_and_the_notice_offers_undo(
    agent, support, logged_in, settings, smtp_server
):
    settings.POSTACI_UNDO_SEND_SECONDS = 10
    client = logged_in(agent)
    before = timezone.now()
    response = client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "customer@example.com",
            "subject": "Oops",
            "body": "Not yet",
            "action": "send",
        },
        follow=True,
    )
    email = Email.objects.get()
    assert email.status == Email.Status.SCHEDULED and email.outgoing.undo_window
    assert before + timedelta(seconds=10) <= email.outgoing.scheduled_at
    assert email.outgoing.scheduled_at <= timezone.now() + timedelta(seconds=10)
    page = response.content.decode()
    undo_url = reverse("mailboxes:email-unschedule", args=[email.pk])
    assert f'action="{undo_url}"' in page and 'data-testid="undo-send"' in page

    response = client.post(undo_url, {"then": "undo"})
    assert response.url == reverse("mailboxes:compose-draft", args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.DRAFT
    assert "Not yet" in client.get(response.url).content.decode()
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_scheduled_emails_are_listed_under_drafts_scheduled_only(agent, support, logged_in):
    email = email_schedule(
        user=agent, data=_data(support, subject="Waiting"), send_at=timezone.now() + timedelta(1)
    )
    client = logged_in(agent)
    scheduled = client.get(reverse("mailboxes:folder", args=["scheduled"])).content.decode()
    assert "Waiting" in scheduled and 'data-testid="scheduled-badge"' in scheduled
    for folder in ("drafts", "sent", "all"):
        page = client.get(reverse("mailboxes:folder", args=[folder])).content.decode()
        assert "Waiting" not in page, folder
    detail = client.get(reverse("mailboxes:email-detail", args=[email.pk])).content.decode()
    assert 'data-testid="scheduled-cancel"' in detail


def test_beat_has_the_send_scheduled_emails_job(transactional_db):
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    install_default_jobs()
    job = PeriodicTask.objects.get(task="mailboxes.send_scheduled_emails")
    assert job.enabled and job.interval.every <= 30  # "within a minute of their time"
    app.loader.import_default_modules()
    assert job.task in app.tasks


# --- races: one winner ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_beat_racing_send_a_due_email_once(agent, support, smtp_server):
    for _round in range(5):
        smtp_server.clear()
        email = email_schedule(user=agent, data=_data(support), send_at=timezone.now())

        def work(account, name, pk=email.pk):
            if name == "beat":
                scheduled_send_due()
            email_deliver(pk)

        assert run_workers(support.pk, work, ["worker-1", "worker-2", "beat"]) == []
        email.refresh_from_db()
        assert email.status == Email.Status.SENT
        assert len(smtp_server.wait_for_messages(1)) == 1
        assert email.send_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_undo_racing_the_release_has_exactly_one_winner(agent, support, smtp_server):
    outcomes = set()
    for _round in range(8):
        smtp_server.clear()
        email = email_schedule(user=agent, data=_data(support), send_at=timezone.now())
        undone: list[bool] = []

        def work(account, name, pk=email.pk, undone=undone):
            if name == "undo":
                try:
                    email_unschedule(user=agent, email=Email(pk=pk))
                    undone.append(True)
                except NotSendable:
                    pass
            else:
                email_deliver(pk)

        assert run_workers(support.pk, work, ["undo", "worker"]) == []
        email.refresh_from_db()
        if undone:
            assert email.status == Email.Status.DRAFT
            assert smtp_server.messages == []
        else:
            assert email.status == Email.Status.SENT
            assert len(smtp_server.wait_for_messages(1)) == 1
        outcomes.add(email.status)
    assert outcomes <= {Email.Status.DRAFT, Email.Status.SENT}


@pytest.mark.django_db
def test_a_sender_who_lost_the_address_meanwhile_sends_nothing(agent, support, smtp_server):
    email = email_schedule(
        user=agent, data=_data(support), send_at=timezone.now() + timedelta(hours=1)
    )
    support.smtp_is_shared = False  # the group address is no longer shared with the agent
    support.save(update_fields=["smtp_is_shared"])
    _make_due(email)
    assert scheduled_send_due() == 0
    email.refresh_from_db()
    assert email.status == Email.Status.FAILED
    assert "could no longer send from this address" in str(email.send_error)
    assert smtp_server.messages == []
