"""What Administration › System shows: the figures of ``ops.figures``, the readiness checks,
the scheduled jobs with their last outcome, and the last 24 hours of samples for charts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from crm.scheduling import job_display_name
from ops import figures
from ops.models import JobOutcome, Tally
from ops.readiness import readiness
from ops.samples import chart_series

LAGGING_AFTER = timedelta(minutes=15)


def system_context() -> dict:
    now = timezone.now()
    mailboxes = figures.mailboxes_figures(now)
    for row in mailboxes:
        row.lag_since = now - timedelta(seconds=row.lag_seconds)
        # known to be behind: an upper bound (a failing mailbox) is shown, not counted
        row.lagging = row.lag.measured and row.lag_seconds >= LAGGING_AFTER.total_seconds()
    outcomes = {outcome.name: outcome for outcome in JobOutcome.objects.all()}
    jobs = figures.jobs_figures()
    for job in jobs:
        job["outcome"] = outcomes.get(job["name"])
        job["label"] = job_display_name(job["name"], job["task"])
    jobs.sort(key=lambda job: job["label"].casefold())  # in the reader's language
    ready, checks = readiness()
    tallies = {
        (metric, labels): value
        for metric, labels, value in Tally.objects.filter(
            metric__in=["postaci_messages_total", "postaci_sends_total"]
        ).values_list("metric", "labels", "value")
    }
    outgoing = figures.outgoing_counts()
    queues = figures.celery_queue_lengths()
    return {
        "now": now,
        "ready": ready,
        "checks": checks,
        "mailboxes": mailboxes,
        "lagging": sum(1 for row in mailboxes if row.lagging),
        "failing": sum(1 for row in mailboxes if row.failing),
        "quarantined": sum(row.quarantined for row in mailboxes),
        "watched": sum(1 for row in mailboxes if row.watched_live),
        "imported": int(tallies.get(("postaci_messages_total", "outcome=imported"), 0)),
        "send_queue": outgoing["sending"],
        "send_failed": outgoing["failed"],
        "celery_queues": queues,
        "jobs": jobs,
        "cases_by_team": sorted(figures.case_counts_by_team().items()),
        "series": chart_series(now),
    }
