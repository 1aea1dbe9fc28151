"""The System page's job outcomes come from the worker that ran the job (beat's
DatabaseScheduler sends the job's name in the ``periodic_task_name`` header)."""

from __future__ import annotations

import pytest

from ops.models import Heartbeat, JobOutcome, OpsSample
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_scheduled_job_run_by_a_real_worker_records_its_outcome(celery_worker):
    from ops.tasks import heartbeat, sample

    heartbeat.apply_async(headers={"periodic_task_name": "Record the scheduler heartbeat"})
    sample.apply_async(headers={"periodic_task_name": "Record system figures for the charts"})
    heartbeat.delay()  # not sent by beat: no outcome row of its own
    assert wait_until(lambda: JobOutcome.objects.count() == 2, timeout=20)
    outcomes = {row.name: row for row in JobOutcome.objects.all()}
    assert outcomes["Record the scheduler heartbeat"].ok
    assert outcomes["Record system figures for the charts"].ok
    assert Heartbeat.objects.filter(name="beat").exists()
    assert OpsSample.objects.count() == 1


def test_a_failed_job_is_recorded_with_its_exception_class_only(celery_worker):
    from mailboxes.tasks import fetch_account

    # the account does not exist: the fetch task returns normally; a task that raises is
    # what counts as failed, e.g. a job whose arguments are wrong
    fetch_account.apply_async(args=["not-an-id"], headers={"periodic_task_name": "Broken job"})
    assert wait_until(lambda: JobOutcome.objects.filter(name="Broken job").exists(), timeout=20)
    outcome = JobOutcome.objects.get(name="Broken job")
    assert not outcome.ok
    assert outcome.error and " " not in outcome.error  # a class name, no message text
