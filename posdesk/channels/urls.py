"""Webhooks the channels' providers call (WeChat, the SMS gateway, the call centre)."""

from django.urls import include, path

urlpatterns = [
    path("wechat/", include("posdesk.channels.wechat.urls")),
    path("sms/", include("posdesk.channels.sms.urls")),
    path("phone/", include("posdesk.channels.phone.urls")),
]
