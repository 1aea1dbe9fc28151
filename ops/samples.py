"""Samples of the figures every few minutes, for the System page's 24-hour charts.

One small row per sample (a beat job, every 5 minutes: 288 a day); rows older than two days
are deleted by the same job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from ops import figures
from ops.models import OpsSample, Tally

KEEP = timedelta(days=2)
CHART_PERIOD = timedelta(hours=24)


def sample_figures(now: datetime) -> dict:
    mailboxes = figures.mailboxes_figures(now)
    queues = figures.celery_queue_lengths()
    imported = (
        Tally.objects.filter(metric="postaci_messages_total", labels="outcome=imported").aggregate(
            total=Sum("value")
        )["total"]
        or 0
    )
    return {
        "max_lag": max((row.lag_seconds for row in mailboxes), default=0),
        "failing": sum(1 for row in mailboxes if row.failing),
        "quarantined": sum(row.quarantined for row in mailboxes),
        "send_queue": figures.outgoing_counts()["sending"],
        "celery_queue": sum(length or 0 for length in queues.values()),
        "imported_total": imported,
    }


def sample_record(now: datetime | None = None) -> OpsSample:
    now = now or timezone.now()
    return OpsSample.objects.create(taken_at=now, data=sample_figures(now))


def sample_prune(now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = OpsSample.objects.filter(taken_at__lt=now - KEEP).delete()
    return deleted


def chart_series(now: datetime | None = None) -> dict:
    """The last 24 hours as columns for uPlot: Unix times, then one list per figure.
    ``imported`` is per interval (the difference of the running total)."""
    now = now or timezone.now()
    samples = list(
        OpsSample.objects.filter(taken_at__gte=now - CHART_PERIOD).values_list("taken_at", "data")
    )
    series: dict[str, list] = {
        "time": [],
        "max_lag_minutes": [],
        "failing": [],
        "quarantined": [],
        "send_queue": [],
        "celery_queue": [],
        "imported": [],
    }
    previous = None
    for taken_at, data in samples:
        series["time"].append(int(taken_at.timestamp()))
        series["max_lag_minutes"].append(round(data.get("max_lag", 0) / 60, 1))
        for name in ("failing", "quarantined", "send_queue", "celery_queue"):
            series[name].append(data.get(name, 0))
        total = data.get("imported_total", 0)
        series["imported"].append(None if previous is None else max(total - previous, 0))
        previous = total
    return series
