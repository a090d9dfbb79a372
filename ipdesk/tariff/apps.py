from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TariffConfig(AppConfig):
    name = "ipdesk.tariff"
    verbose_name = _("Fee schedule")
