"""The Celery application; tasks live in each app's ``tasks.py``."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("postaci")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_to_start_misconfigured(**kwargs) -> None:
    """A worker started with ``celery worker`` runs Postaci's checks first, as ``manage.py``
    commands do: a worker without the installation's keys would fail on every mailbox."""
    from django.core.checks import run_checks
    from django.core.checks.registry import Tags

    errors = [message for message in run_checks(tags=[Tags.security]) if message.is_serious()]
    if errors:
        raise SystemExit("\n".join(str(error) for error in errors))


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task=None, **kwargs) -> None:
    """Around each task, as Django around each request: drop a connection that broke or
    outlived ``DB_CONN_MAX_AGE`` (0, the default: every one). With ``DB_CONN_MAX_AGE=60`` a
    worker skips a database connect per task, about 40 % of an idle poll's fetch."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's transaction
    from django.db import close_old_connections

    close_old_connections()
