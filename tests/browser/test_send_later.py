"""Send later, undo send and draft autosave in a real browser, with a real Celery worker and
aiosmtpd: a scheduled email leaves at its time although the worker was restarted (and its
queue lost) in between; Undo within the window sends nothing; a draft keeps what was typed
when the page is left; a second tab's stale save is refused and the page says so."""

from __future__ import annotations

import time
import zoneinfo
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from crm.scheduling import install_default_jobs
from mailboxes.models import Email, GroupEmailAccount
from mailboxes.sending.scheduling import scheduled_send_due
from tests.mailboxes.sending.conftest import role, smtp_fields
from tests.servers.celery_worker import running_beat, running_worker
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")


@pytest.fixture
def agent(make_user):
    return make_user(
        "ayse", first_name="Ayşe", last_name="Yılmaz", roles=[role("all")], language="en"
    )


@pytest.fixture
def support(smtp_server, transactional_db):
    return GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@example.test",
        use_imap=False,
        smtp_is_shared=True,
        **smtp_fields(smtp_server),
    )


def _write(page, app_url, support, *, subject: str, body: str) -> None:
    page.goto(app_url(reverse("mailboxes:compose")))
    page.get_by_label("From").select_option(str(support.pk))
    page.get_by_label("To", exact=True).fill("Çağrı Işık <cagri@customer.example.com>")
    page.get_by_label("Subject").fill(subject)
    page.get_by_test_id("compose-editor").click()
    page.keyboard.type(body)


def _set_language(user, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def test_a_scheduled_email_leaves_at_its_time_after_the_worker_restarted(
    page, app_url, login_as, agent, support, smtp_server, celery_test_app, screenshot
):
    agent.time_zone = "Europe/Istanbul"
    agent.save(update_fields=["time_zone"])
    install_default_jobs()
    beat_job = PeriodicTask.objects.get(task="mailboxes.send_scheduled_emails")
    assert beat_job.enabled and beat_job.interval.every == 15
    celery_test_app.control.purge()
    login_as(agent)

    with running_worker(celery_test_app):  # the first worker gets the task with its ETA
        _write(page, app_url, support, subject="Yarın sabah — ığüşöç", body="Planlı e-posta")
        page.get_by_test_id("send-later").locator("summary").click()
        expect_zone = page.get_by_test_id("send-later").inner_text()
        assert "Europe/Istanbul" in expect_zone
        send_at = (timezone.now() + timedelta(seconds=8)).astimezone(ISTANBUL)
        page.get_by_label("Send at").fill(send_at.strftime("%Y-%m-%dT%H:%M:%S"))
        screenshot("send-later-en")
        page.get_by_test_id("compose-schedule").click()
        page.get_by_test_id("send-status").wait_for()
        assert "Scheduled" in page.get_by_test_id("send-status").inner_text()
        email = Email.objects.get(status=Email.Status.SCHEDULED)
        assert abs((email.outgoing.scheduled_at - send_at).total_seconds()) < 1
    # Every process restarted before the time and the queued task is gone: only the
    # schedule in the database is left.
    celery_test_app.control.purge()

    page.goto(app_url(reverse("mailboxes:folder", args=["scheduled"])))
    assert "Yarın sabah" in page.get_by_test_id("email-row").inner_text()
    screenshot("drafts-scheduled-en")
    _set_language(agent, "tr")
    page.reload()
    assert page.locator("[data-folder=scheduled]").inner_text().strip() == "Zamanlanmış"
    screenshot("drafts-scheduled-tr")
    page.get_by_test_id("email-row").locator("a.subject-link").click()
    assert "gönderilecek" in page.get_by_test_id("send-status").inner_text()
    screenshot("scheduled-email-tr")
    assert smtp_server.messages == []

    # The new worker, and beat (its database scheduler, as in production) with the job's
    # interval shortened the way an administrator can, so the test need not wait 15 s.
    beat_job.interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
    beat_job.save()
    with running_worker(celery_test_app), running_beat(celery_test_app):
        assert wait_until(lambda: Email.objects.get(pk=email.pk).status == "sent", 40)
    beat_job.refresh_from_db()
    assert beat_job.total_run_count >= 1  # beat sent it, nothing else did
    [captured] = smtp_server.wait_for_messages(1)
    arrived = timezone.now()
    assert captured.message["Subject"] == "Yarın sabah — ığüşöç"
    date = parsedate_to_datetime(captured.message["Date"])
    assert date >= send_at.replace(microsecond=0) - timedelta(seconds=1)
    assert arrived - send_at < timedelta(seconds=60)


def test_undo_within_the_window_sends_nothing_and_the_draft_is_back(
    page, app_url, login_as, agent, support, smtp_server, celery_worker, settings, screenshot
):
    settings.POSTACI_UNDO_SEND_SECONDS = 6
    login_as(agent)
    _write(page, app_url, support, subject="Oops", body="Sent too soon")
    page.get_by_test_id("compose-send").click()
    undo = page.get_by_test_id("undo-send")
    undo.wait_for()
    assert "Your email will be sent in 6 seconds." in page.locator(".messages").inner_text()
    screenshot("undo-send-en")
    undo.click()
    page.wait_for_url("**/emails/compose/*/")
    assert "Sending undone" in page.locator(".messages").inner_text()
    assert "Sent too soon" in page.get_by_test_id("compose-editor").inner_text()
    email = Email.objects.get()

    # Turkish, from the draft: Send, then "Geri al"
    _set_language(agent, "tr")
    page.reload()
    page.get_by_test_id("compose-send").click()
    page.get_by_test_id("undo-send").wait_for()
    assert "E-postanız 6 saniye içinde gönderilecek." in page.locator(".messages").inner_text()
    screenshot("undo-send-tr")
    page.get_by_role("button", name="Geri al").click()
    page.wait_for_url("**/emails/compose/*/")

    time.sleep(settings.POSTACI_UNDO_SEND_SECONDS + 2)  # the ETA task has come and gone
    scheduled_send_due()  # and beat finds nothing
    email.refresh_from_db()
    assert email.status == Email.Status.DRAFT
    assert "Sent too soon" in email.body_text
    assert smtp_server.messages == []


def test_text_typed_and_the_page_left_is_in_the_draft(page, app_url, login_as, agent, support):
    login_as(agent)
    _write(page, app_url, support, subject="Taslak", body="Yazdım ve çıktım — ığüşöç")
    page.goto(app_url(reverse("mailboxes:inbox")))  # before the autosave delay: the beacon

    def saved():
        return Email.objects.filter(
            status=Email.Status.DRAFT, body_text__contains="Yazdım ve çıktım — ığüşöç"
        ).first()

    draft = wait_until(saved, 10)
    assert draft is not None and draft.subject == "Taslak" and draft.created_by == agent


def test_the_second_tabs_stale_save_shows_the_conflict_notice(
    page, app_url, login_as, agent, support
):
    login_as(agent)
    _write(page, app_url, support, subject="Two tabs", body="Start.")
    page.get_by_test_id("autosave-status").filter(has_text="Draft saved").wait_for()
    draft = Email.objects.get()
    draft_url = app_url(reverse("mailboxes:compose-draft", args=[draft.pk]))
    assert page.url == draft_url  # the address now opens the draft

    other = page.context.new_page()
    other.goto(draft_url)
    page.get_by_test_id("compose-editor").click()
    page.keyboard.press("End")
    page.keyboard.type(" First tab.")
    page.get_by_test_id("autosave-status").filter(has_text="Draft saved").wait_for()

    other.get_by_test_id("compose-editor").click()
    other.keyboard.press("End")
    other.keyboard.type(" Second tab.")
    notice = other.get_by_test_id("draft-conflict")
    notice.wait_for()
    assert "changed in another tab or window" in notice.inner_text()
    draft.refresh_from_db()
    assert "First tab." in draft.body_text and "Second tab." not in draft.body_text

    other.get_by_role("button", name="Keep my version").click()
    other.get_by_test_id("autosave-status").filter(has_text="Draft saved").wait_for()
    draft.refresh_from_db()
    assert "Second tab." in draft.body_text
