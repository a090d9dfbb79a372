from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "ipdesk.delivery"
    verbose_name = _("Receipt delivery")

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (connects to receipts_issued)
