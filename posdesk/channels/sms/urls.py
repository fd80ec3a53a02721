"""The SMS gateway's pushes, under /channels/sms/ (configure these URLs in the Aliyun SMS console,
behind the signing proxy described in callbacks.py)."""

from django.urls import path

from posdesk.channels.sms import views

urlpatterns = [
    path("aliyun/report", views.aliyun_report, name="sms-aliyun-report"),
    path("aliyun/up", views.aliyun_up, name="sms-aliyun-up"),
]
