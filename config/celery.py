"""The Celery application; tasks live in each app's ``tasks.py``."""

import os

from celery import Celery
from celery.signals import worker_init

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
