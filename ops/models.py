"""What the ops app keeps: heartbeats, running tallies of what workers did, and samples.

Everything here is written by background jobs and read by the health, metrics and System
pages; no other app reads or writes these tables.
"""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time something periodic happened, e.g. ``beat``: a worker ran the heartbeat
    job beat sends every half minute."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"


class Tally(models.Model):
    """A running total across every worker process and machine (a Prometheus counter or
    histogram bucket), added to with one upsert (``ops.tallies.tally_add``).

    ``labels`` is the label set in a fixed form (``kind=group,outcome=sent``); values are
    bounded (codes, outcomes, bucket limits), never addresses or Message-IDs.
    """

    metric = models.CharField(max_length=100)
    labels = models.CharField(max_length=255, blank=True)
    value = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "labels"], name="ops_tally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.metric}{{{self.labels}}} {self.value}"


class OpsSample(models.Model):
    """The system's figures at one moment, stored every few minutes by a beat job for the
    System page's charts (``ops.samples``); older than two days are deleted."""

    taken_at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["taken_at"]

    def __str__(self) -> str:
        return f"sample {self.taken_at:%Y-%m-%d %H:%M}"


class JobOutcome(models.Model):
    """How the last run of a scheduled job (a django-celery-beat periodic task) ended,
    recorded from Celery's signals by the worker that ran it."""

    name = models.CharField(max_length=200, primary_key=True)  # PeriodicTask.name
    finished_at = models.DateTimeField()
    ok = models.BooleanField(default=True)
    error = models.CharField(max_length=200, blank=True)  # the exception's class, no text
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {'ok' if self.ok else self.error}"
