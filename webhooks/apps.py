from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class WebhooksConfig(AppConfig):
    """Signed HTTP deliveries of domain events (crm.events) to endpoints administrators
    register. Fed by the ``event_published`` signal: no other app imports this one."""

    name = "webhooks"
    verbose_name = _("Webhooks")
    # a safety net: deliveries whose task was lost (broker outage, worker gone) go out later
    periodic_jobs = [(gettext_noop("Send due webhook deliveries"), "webhooks.deliveries_due", 300)]

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register
        from crm.events import event_published
        from webhooks import messages  # noqa: F401 (defines the stored message codes)
        from webhooks.outbox import on_event_published

        event_published.connect(on_event_published, dispatch_uid="webhooks.outbox")
        admin_link_register(
            group=_("System"),
            label=_("Webhooks"),
            url_name="webhooks:endpoint-list",
            description=_("Tell other systems of new cases, notes and emails, signed."),
            order=800,
        )
