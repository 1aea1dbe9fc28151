from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class OpsConfig(AppConfig):
    """Operating Postaci: health checks, Prometheus metrics, the System page, JSON logs.

    Nothing imports ops; it reads the other apps' tables and listens to Celery's signals.
    """

    name = "ops"
    verbose_name = _("Operations")
    # Installed after migrate by crm/scheduling.py: (name, task, every_seconds).
    periodic_jobs = [
        (gettext_noop("Record the scheduler heartbeat"), "ops.heartbeat", 30),
        (gettext_noop("Record system figures for the charts"), "ops.sample", 5 * 60),
    ]

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register
        from ops import log_format, tallies

        tallies.connect_task_signals()
        log_format.connect_task_context()
        admin_link_register(
            group=_("System"),
            label=_("System health"),
            url_name="ops:system",
            description=_("Is mail flowing? Mailboxes by lag, workers, queues, scheduled jobs."),
            order=880,
        )
