from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "posdesk.core"
    label = "core"
    verbose_name = "posdesk core"
