from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlasConfig(AppConfig):
    name = "posdesk.slas"
    label = "slas"
    verbose_name = _("Service standards")
