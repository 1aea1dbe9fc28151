from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API (/api/v1/): a thin layer over the service functions and ``visible_to``
    selectors of crm, mailboxes, cases and filters. Nothing imports this app."""

    name = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register

        admin_link_register(
            group=_("Users and permissions"),
            label=_("API keys"),
            url_name="api:admin-key-list",
            description=_("Every user's API keys; revoke any of them."),
            order=40,
        )
