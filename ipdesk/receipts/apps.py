from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceiptsConfig(AppConfig):
    name = "ipdesk.receipts"
    verbose_name = _("Electronic receipts")

    def ready(self) -> None:
        from ipdesk.audit import checkpoints

        from . import handlers  # noqa: F401  (connects the review signal)
        from .audit_keys import ReceiptKeys

        checkpoints.use_keys(ReceiptKeys)
