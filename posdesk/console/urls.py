from django.urls import path

from posdesk.console import views

app_name = "console"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.login_view, name="login"),
]
