"""``/metrics``: the figures in Prometheus's text format, read from the database per scrape.

A custom collector on a registry of its own: every web process answers with the same
numbers whichever worker or machine did the work (nothing is counted in process memory).
Labels are bounded: account id and name, folder, team name, outcome and reason codes;
never an address or a Message-ID.
"""

from __future__ import annotations

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ops import figures
from ops.models import Tally
from ops.tallies import labels_parse

TALLY_COUNTERS = {
    "postaci_fetches_total": (
        "Fetches that ran (a fetch that found the account locked by another is not counted).",
        [],
    ),
    "postaci_fetch_skipped_locked_total": (
        "Fetches that found another fetch of the account running.",
        [],
    ),
    "postaci_messages_total": ("Messages fetched, by what became of them.", ["outcome"]),
    "postaci_fetch_failures_total": ("Fetches that failed, by kind of failure.", ["reason"]),
    "postaci_sends_total": ("SMTP delivery attempts, by outcome.", ["outcome"]),
}
TALLY_HISTOGRAMS = {
    "postaci_fetch_duration_seconds": "Seconds one fetch of an account took.",
    "postaci_fetch_messages": "Messages one fetch of an account brought.",
}


def _tally_metrics() -> list[Metric]:
    rows = list(Tally.objects.values_list("metric", "labels", "value"))
    metrics: list[Metric] = []
    for name, (documentation, label_names) in TALLY_COUNTERS.items():
        family = CounterMetricFamily(name.removesuffix("_total"), documentation, labels=label_names)
        for metric, key, value in rows:
            if metric == name:
                labels = labels_parse(key)
                family.add_metric([labels.get(label, "") for label in label_names], value)
        if not label_names and not family.samples:
            family.add_metric([], 0)
        metrics.append(family)
    for name, documentation in TALLY_HISTOGRAMS.items():
        buckets: dict[str, float] = {}
        total = 0.0
        for metric, key, value in rows:
            if metric == f"{name}_bucket":
                buckets[labels_parse(key)["le"]] = value
            elif metric == f"{name}_sum":
                total = value
        ordered = sorted(buckets.items(), key=lambda item: float(item[0]))
        if not ordered or ordered[-1][0] != "+Inf":
            ordered.append(("+Inf", ordered[-1][1] if ordered else 0.0))
        family = HistogramMetricFamily(name, documentation)
        family.add_metric([], [(bound, count) for bound, count in ordered], total)
        metrics.append(family)
    return metrics


def _mailbox_metrics() -> list[Metric]:
    now = timezone.now()
    account = ["account_id", "account"]
    lag = GaugeMetricFamily(
        "postaci_mailbox_lag_seconds",
        "Age of the oldest message on the server not imported yet, by the server's date for it "
        "(INTERNALDATE) as the last fetch saw it; 0 when that fetch left nothing; an upper "
        "bound (time since the last look) while the mailbox fails or was never reached.",
        labels=[*account, "folder"],
    )
    measured = GaugeMetricFamily(
        "postaci_mailbox_lag_measured",
        "1 when the folder's lag is measured from the server's dates, 0 when it is an upper bound.",
        labels=[*account, "folder"],
    )
    since = GaugeMetricFamily(
        "postaci_mailbox_seconds_since_fetch",
        "Seconds since the account's last successful fetch.",
        labels=account,
    )
    imported = GaugeMetricFamily(
        "postaci_folder_last_import_timestamp_seconds",
        "When mail of the folder was last imported (Unix time).",
        labels=[*account, "folder"],
    )
    failures = GaugeMetricFamily(
        "postaci_mailbox_consecutive_failures",
        "Fetches of the account that failed in a row.",
        labels=account,
    )
    quarantined = GaugeMetricFamily(
        "postaci_mailbox_quarantined",
        "Messages of the account in quarantine.",
        labels=account,
    )
    watched = GaugeMetricFamily(
        "postaci_mailbox_watched",
        "1 while the IMAP IDLE watcher holds every folder of the account live.",
        labels=account,
    )
    idle = GaugeMetricFamily(
        "postaci_idle_connections", "IMAP IDLE connections the watchers hold (one per folder)."
    )
    mailboxes = figures.mailboxes_figures(now)
    idle_count = 0
    for row in mailboxes:
        ids = [str(row.id), row.name]
        for folder in row.folders:
            folder_lag = row.folder_lag[folder]
            lag.add_metric([*ids, folder], folder_lag.seconds)
            measured.add_metric([*ids, folder], int(folder_lag.measured))
            at = row.folder_imported_at.get(folder)
            if at is not None:
                imported.add_metric([*ids, folder], at.timestamp())
        if row.since_fetch_seconds is not None:
            since.add_metric(ids, row.since_fetch_seconds)
        failures.add_metric(ids, row.consecutive_failures)
        quarantined.add_metric(ids, row.quarantined)
        watched.add_metric(ids, int(row.watched_live))
        idle_count += len(row.folders) if row.watched_live else 0
    idle.add_metric([], idle_count)
    return [lag, measured, since, imported, failures, quarantined, watched, idle]


def _other_metrics() -> list[Metric]:
    metrics: list[Metric] = []
    outgoing = figures.outgoing_counts()
    queue = GaugeMetricFamily(
        "postaci_send_queue_length", "Emails being sent (queued or retrying)."
    )
    queue.add_metric([], outgoing["sending"])
    emails = GaugeMetricFamily(
        "postaci_outgoing_emails", "Emails written in Postaci, by sending state.", labels=["status"]
    )
    for status, count in outgoing.items():
        emails.add_metric([status], count)
    metrics += [queue, emails]

    replies = CounterMetricFamily(
        "postaci_auto_replies",
        "Auto-reply decisions: sent, or refused by the loop guard with its reason.",
        labels=["outcome", "reason"],
    )
    for (outcome, reason), count in sorted(figures.auto_reply_counts().items()):
        replies.add_metric([outcome, reason], count)
    metrics.append(replies)

    opened = CounterMetricFamily("postaci_cases_opened", "Cases per team.", labels=["team"])
    assigned = CounterMetricFamily(
        "postaci_cases_assigned", "Cases per team that have an assignee.", labels=["team"]
    )
    for team, counts in sorted(figures.case_counts_by_team().items()):
        opened.add_metric([team], counts["opened"])
        assigned.add_metric([team], counts["assigned"])
    metrics += [opened, assigned]

    celery = GaugeMetricFamily(
        "postaci_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
    )
    for name, length in figures.celery_queue_lengths().items():
        if length is not None:
            celery.add_metric([name], length)
    metrics.append(celery)

    jobs = GaugeMetricFamily(
        "postaci_job_last_run_timestamp_seconds",
        "When beat last ran each scheduled job (Unix time).",
        labels=["job"],
    )
    for job in figures.jobs_figures():
        if job["last_run_at"] is not None:
            jobs.add_metric([job["name"]], job["last_run_at"].timestamp())
    metrics.append(jobs)
    return metrics


class PostaciCollector(Collector):
    def collect(self):
        yield from _tally_metrics()
        yield from _mailbox_metrics()
        yield from _other_metrics()


def metrics_text() -> bytes:
    """The exposition (text format 0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PostaciCollector())
    return generate_latest(registry)
