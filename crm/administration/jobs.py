"""Scheduled jobs (django-celery-beat's periodic tasks): schedule changes and "run now"."""

from __future__ import annotations

import json

from celery import current_app
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def job_schedule_display(task: PeriodicTask) -> str:
    """The schedule in words, in the user's language."""
    if task.interval_id:
        every, period = task.interval.every, task.interval.period
        units = {
            IntervalSchedule.DAYS: ngettext("day", "days", every),
            IntervalSchedule.HOURS: ngettext("hour", "hours", every),
            IntervalSchedule.MINUTES: ngettext("minute", "minutes", every),
            IntervalSchedule.SECONDS: ngettext("second", "seconds", every),
            IntervalSchedule.MICROSECONDS: ngettext("microsecond", "microseconds", every),
        }
        return _("every %(every)s %(unit)s") % {"every": every, "unit": units.get(period, period)}
    if task.crontab_id:
        cron = task.crontab
        expression = " ".join(
            [cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week]
        )
        return _("cron %(expression)s (%(timezone)s)") % {
            "expression": expression,
            "timezone": cron.timezone,
        }
    if task.solar_id:
        return str(task.solar)
    if task.clocked_id:
        return str(task.clocked)
    return _("no schedule")


@transaction.atomic
def job_set_schedule(
    task: PeriodicTask,
    *,
    enabled: bool,
    interval: tuple[int, str] | None = None,
    crontab: dict[str, str] | None = None,
) -> PeriodicTask:
    """Give ``task`` an interval ``(every, period)`` or a crontab (minute, hour, day_of_month,
    month_of_year, day_of_week), and switch it on or off. Beat picks the change up."""
    if (interval is None) == (crontab is None):
        raise ValueError("give exactly one of interval and crontab")
    task.interval = task.crontab = task.solar = task.clocked = None
    if interval is not None:
        every, period = interval
        task.interval, _created = IntervalSchedule.objects.get_or_create(every=every, period=period)
    else:
        schedule = CrontabSchedule.objects.filter(**crontab).first()
        task.crontab = schedule or CrontabSchedule.objects.create(**crontab)
    task.enabled = enabled
    task.save()
    return task


def job_run_now(task: PeriodicTask) -> str:
    """Send the job's task to the workers now, with its arguments; returns the task id."""
    options = {
        key: value
        for key, value in {
            "queue": task.queue,
            "exchange": task.exchange,
            "routing_key": task.routing_key,
            "priority": task.priority,
        }.items()
        if value not in (None, "")
    }
    result = current_app.send_task(
        task.task,
        args=json.loads(task.args or "[]"),
        kwargs=json.loads(task.kwargs or "{}"),
        **options,
    )
    return result.id
