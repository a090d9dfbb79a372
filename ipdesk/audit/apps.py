from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "ipdesk.audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from . import guards, handlers  # noqa: F401 - handlers connect on import

        guards.connect()
