"""Celery tasks of ops: thin wrappers; beat sends them (ops/apps.py ``periodic_jobs``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, name="ops.heartbeat", ignore_result=True)
def heartbeat(self) -> None:
    """Beat sends this every 30 s: its row says beat schedules and a worker runs jobs."""
    from ops.readiness import BEAT_HEARTBEAT, heartbeat_record

    heartbeat_record(BEAT_HEARTBEAT, hostname=self.request.hostname or "")


@shared_task(name="ops.sample", ignore_result=True)
def sample() -> int:
    """Store the figures for the System page's charts and forget the old ones."""
    from ops.samples import sample_prune, sample_record

    sample_record()
    return sample_prune()
