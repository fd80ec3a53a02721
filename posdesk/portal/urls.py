from django.urls import path

from posdesk.portal import help_pages, self_service_pages, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("report/", views.report, name="report"),
    path("report/suggest/", help_pages.report_suggest, name="report_suggest"),
    path("help/", help_pages.help_index, name="help"),
    path("help/<slug:slug>/", help_pages.help_article, name="help_article"),
    path("help/<slug:slug>/solved/", help_pages.help_solved, name="help_solved"),
    path("preferences/", views.preferences, name="preferences"),
    path("callback/", views.callback_request_view, name="callback"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply_view, name="ticket_reply"),
    path("tickets/<int:ticket_id>/confirm/", views.ticket_confirm_view, name="ticket_confirm"),
    path("tickets/<int:ticket_id>/reopen/", views.ticket_reopen_view, name="ticket_reopen"),
    path("tickets/<int:ticket_id>/cancel/", views.ticket_cancel_view, name="ticket_cancel"),
    path("tickets/<int:ticket_id>/self-service/", self_service_pages.ticket_self_service, name="ticket_self_service"),
]
