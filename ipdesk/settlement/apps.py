from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    name = "ipdesk.settlement"
    verbose_name = _("Settlement")
