from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiltersConfig(AppConfig):
    name = "filters"
    verbose_name = _("Email filters")

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register

        admin_link_register(
            group=_("Email"),
            label=_("Email Filters"),
            url_name="filters:admin-list",
            description=_(
                "Global and group-account filters that skip or sort mail as it is fetched, "
                "and everyone's own filters."
            ),
            order=30,
        )
        from mailboxes.navigation import emails_link_register

        emails_link_register(label=_("My filters"), url_name="filters:my-list", order=30)
