"""Default scheduled jobs, installed once; admins edit them afterwards.

Each app lists its jobs in ``periodic_jobs`` on its AppConfig:
``[(name, task, every_seconds), ...]``. Existing rows are never overwritten, so an admin's
change to an interval or an enabled flag survives migrations and restarts. The name is
stored in English (it is the row's key, marked with ``gettext_noop``) and shown in the
reader's language by ``job_display_name``.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext


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


def job_display_name(name: str, task: str) -> str:
    """A default job's name in the reader's language; a job an administrator added keeps
    the name they gave it."""
    for config in apps.get_app_configs():
        for default, path, _seconds in getattr(config, "periodic_jobs", ()):
            if path == task and default == name:
                return gettext(default)
    return name
