from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Meetings")

    def ready(self) -> None:
        from mailboxes.email_panels import email_panel_register
        from mailboxes.intake.pipeline import step_provide
        from meetings import notes  # noqa: F401  (note kinds)

        # by import path: loaded with the first email page / the first fetch that brings mail
        email_panel_register("meetings.panel.invitation_panel")
        step_provide("calendar", "meetings.intake.calendar_batch")
