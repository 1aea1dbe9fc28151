"""Administration › System: administrators only, mailboxes most behind first, errors in the
reader's language, the jobs' last outcome."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import User
from ops.models import JobOutcome, OpsSample
from ops.samples import sample_prune
from tests.ops.system_data import system_data

pytestmark = pytest.mark.django_db

URL = "/administration/system/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_administrators_see_the_system_page():
    agent = User.objects.create_user("agent", password="x")
    assert Client().get(URL).status_code == 302  # to the login page
    assert _client(agent).get(URL).status_code == 403


def test_system_page_lists_mailboxes_by_lag_with_the_error_in_plain_words():
    accounts = system_data()
    JobOutcome.objects.update_or_create(
        name="Poll group email accounts",
        defaults={"finished_at": "2026-01-01T00:00Z", "ok": False, "error": "OperationalError"},
    )
    admin = User.objects.create_user("boss", password="x", is_superuser=True, is_staff=True)
    page = _client(admin).get(URL).content.decode()

    rows = re.findall(r'<a href="(/emails/group-accounts/\d+/)">(\w+)</a>', page)
    assert [name for _url, name in rows] == ["Sales", "Support", "Billing"]
    assert rows[0][0] == reverse("mailboxes:group-account-detail", args=[accounts["lagging"].pk])
    assert "The server refused the user name or password." in page
    # Sales: measured from the oldest message left on the server, in its folder most behind;
    # Support: the server refuses us, so only a bound; one mailbox known to be behind
    assert re.search(r"2\xa0hours, 5\xa0minutes</span><div class=\"muted\">in Orders</div>", page)
    assert "at most 40\xa0minutes" in page
    assert re.search(r'<div class="value">1</div><div class="label">Mailboxes behind', page)
    assert "failed 4 times in a row" in page
    assert "OperationalError" in page
    assert "secret-pw" not in page and "support@example.test" not in page

    admin.language = "tr"
    admin.save(update_fields=["language"])
    page = _client(admin).get(URL).content.decode()
    assert "Sunucu kullanıcı adını ya da parolayı kabul etmedi." in page
    assert "Orders klasöründe" in page and "en fazla 40\xa0dakika" in page
    # the default jobs by name in the reader's language (stored in English, the row's key)
    assert "Grup e-posta hesaplarını yokla" in page and "Poll group email accounts" not in page
    jobs = _client(admin).get(reverse("administration:job-list")).content.decode()
    assert "Zamanlanmış e-postaları gönder" in jobs and "Send scheduled emails" not in jobs


def test_a_job_an_administrator_added_keeps_its_name():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="Gece yedeği", task="ops.sample", interval=every)
    PeriodicTask.objects.filter(task="mailboxes.poll_group_accounts").update(name="Poll sales")
    admin = User.objects.create_user("boss", password="x", is_superuser=True, language="en")
    jobs = _client(admin).get(reverse("administration:job-list")).content.decode()
    assert "Gece yedeği" in jobs and "Poll sales" in jobs
    assert "Record system figures for the charts" in jobs


def test_samples_older_than_two_days_are_pruned():
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    OpsSample.objects.create(taken_at=now - timedelta(days=3), data={})
    OpsSample.objects.create(taken_at=now - timedelta(hours=30), data={})
    assert sample_prune(now) == 1
    assert OpsSample.objects.count() == 1
