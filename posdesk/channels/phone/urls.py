"""The call centre's webhook (mounted at /channels/phone/)."""

from django.urls import path

from posdesk.channels.phone import views

urlpatterns = [
    path("events", views.phone_events, name="phone-events"),
]
