from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cases import intake, messages, notes  # noqa: F401  (message codes, note kinds)
        from cases.notification_reasons import register_notification_reasons
        from crm.permissions import record_access_register
        from mailboxes.intake.pipeline import step_provide
        from mailboxes.linking.parents import email_parent_register

        record_access_register("case", _("cases"), order=20)
        email_parent_register("case", "cases.Case")
        step_provide("case", intake.email_to_case)
        step_provide("auto_reply", intake.queue_auto_reply)
        register_notification_reasons()
