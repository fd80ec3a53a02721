from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "posdesk.console"
    label = "console"
