from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")
    # Installed after migrate by crm/scheduling.py: (name, task, every_seconds).
    periodic_jobs = [
        (
            gettext_noop("Clean up old notifications"),
            "crm.tasks.cleanup_notifications",
            24 * 60 * 60,
        ),
    ]

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from . import checks, kinds, notification_reasons, scheduling  # noqa: F401  (registries)
        from .administration.menu import admin_link_register

        post_migrate.connect(scheduling.install_default_jobs, sender=self)
        from .text_search import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="postaci-fold")
        notification_reasons.register_notification_reasons()

        from .permissions import record_access_register

        record_access_register("account", _("accounts"), order=30)
        record_access_register("contact", _("contacts"), order=40)
        record_access_register("lead", _("leads"), order=50)
        record_access_register("opportunity", _("opportunities"), order=60)

        people = _("Users and permissions")
        system = _("System")
        admin_link_register(
            group=people,
            label=_("Users"),
            url_name="administration:user-list",
            description=_("Accounts of the people who use Postaci, their roles and teams."),
            order=10,
        )
        admin_link_register(
            group=people,
            label=_("Teams"),
            url_name="administration:team-list",
            description=_("Groups of users; a team's roles apply to all its members."),
            order=20,
        )
        admin_link_register(
            group=people,
            label=_("Roles"),
            url_name="administration:role-list",
            description=_("What users may see and do, per type of record."),
            order=30,
        )
        admin_link_register(
            group=system,
            label=_("Scheduled Jobs"),
            url_name="administration:job-list",
            description=_("Periodic jobs such as fetching email; enable, reschedule, run now."),
            order=900,
        )
        admin_link_register(
            group=system,
            label=_("Django admin"),
            url_name="admin:index",
            description=_("Raw access to every table, for power users."),
            order=990,
        )
