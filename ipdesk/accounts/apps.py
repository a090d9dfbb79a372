from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ipdesk.accounts"
    verbose_name = _("Accounts and organisations")

    def ready(self) -> None:
        # The bearer-token security scheme of the OpenAPI schema registers on import.
        from . import schema  # noqa: F401
