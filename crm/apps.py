from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")
    # Installed after migrate by crm/scheduling.py: (name, task, every_seconds).
    periodic_jobs = [
        ("Clean up old notifications", "crm.tasks.cleanup_notifications", 24 * 60 * 60),
    ]

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import scheduling

        post_migrate.connect(scheduling.install_default_jobs, sender=self)
