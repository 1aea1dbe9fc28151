from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiltersConfig(AppConfig):
    name = "filters"
    verbose_name = _("Email filters")

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register
        from mailboxes.intake.pipeline import hook_provide, step_provide

        # by import path: the intake loads when a fetch first brings mail, not at start-up
        step_provide("account_filters", "filters.intake.apply_account_filters")
        step_provide("user_filters", "filters.intake.apply_user_filters")
        hook_provide("prepare_run", "filters.intake.account_filters")
        hook_provide("headers_skip", "filters.intake.headers_skipper")
        hook_provide("after_batch", "filters.intake.flush_filter_stats")

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
        from mailboxes.inbox.navigation import emails_link_register

        emails_link_register(label=_("My filters"), url_name="filters:my-list", order=30)
