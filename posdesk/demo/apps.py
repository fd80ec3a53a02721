from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "posdesk.demo"
    label = "demo"
