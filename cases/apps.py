from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cases import messages, notes  # noqa: F401  (message codes, note kinds)
        from cases.notification_reasons import register_notification_reasons
        from crm.permissions import record_access_register

        record_access_register("case", _("cases"), order=20)
        register_notification_reasons()
