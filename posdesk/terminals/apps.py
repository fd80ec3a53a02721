from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerminalsConfig(AppConfig):
    name = "posdesk.terminals"
    label = "terminals"
    verbose_name = _("Terminals")
