"""/channels/wechat/: the server URL entered in the Official Account's developer settings."""

from django.urls import path

from posdesk.channels.wechat.views import wechat_callback

urlpatterns = [
    path("", wechat_callback, name="wechat-callback"),
]
