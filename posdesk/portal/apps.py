from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "posdesk.portal"
    label = "portal"
