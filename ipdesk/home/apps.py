from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeConfig(AppConfig):
    """The signed-in home page and the demo data: above every domain app, imported by none."""

    name = "ipdesk.home"
    verbose_name = _("Home")
