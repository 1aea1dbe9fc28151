from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiltersConfig(AppConfig):
    name = "filters"
    verbose_name = _("Email filters")
