"""Default scheduled jobs, installed once; admins edit them afterwards.

Each app lists its jobs in ``periodic_jobs`` on its AppConfig:
``[(name, task, every_seconds), ...]``. Existing rows are never overwritten, so an admin's
change to an interval or an enabled flag survives migrations and restarts.
"""

from __future__ import annotations

from django.apps import apps


def install_default_jobs(sender=None, using: str = "default", **kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for config in apps.get_app_configs():
        for name, task, seconds in getattr(config, "periodic_jobs", ()):
            if PeriodicTask.objects.using(using).filter(name=name).exists():
                continue
            interval, _ = IntervalSchedule.objects.using(using).get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.using(using).create(name=name, task=task, interval=interval)
