from django.urls import path

from posdesk.console import callback_pages, knowledge_pages, routing_pages, sla_pages, views

app_name = "console"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("views/", views.saved_view_create_view, name="saved_view_create"),
    path("views/<int:view_id>/delete/", views.saved_view_delete_view, name="saved_view_delete"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply_view, name="ticket_reply"),
    path("tickets/<int:ticket_id>/note/", views.ticket_note_view, name="ticket_note"),
    path("tickets/<int:ticket_id>/transition/", views.ticket_transition_view, name="ticket_transition"),
    path("tickets/<int:ticket_id>/assign/", views.ticket_assign_view, name="ticket_assign"),
    path("tickets/<int:ticket_id>/classify/", views.ticket_classify_view, name="ticket_classify"),
    path("tickets/<int:ticket_id>/merge/", views.ticket_merge_view, name="ticket_merge"),
    path("contacts/<int:contact_id>/reveal/", views.contact_reveal, name="contact_reveal"),
    path("merchants/", views.merchant_list, name="merchant_list"),
    path("merchants/<int:merchant_id>/", views.merchant_detail, name="merchant"),
    path("terminals/<int:terminal_id>/", views.terminal_detail, name="terminal"),
    path("sla/", sla_pages.sla_report, name="sla_report"),
    path("me/presence/", routing_pages.presence_set, name="presence_set"),
    path("take-next/", routing_pages.take_next, name="take_next"),
    path("settings/calendar/", sla_pages.calendar_settings, name="calendar_settings"),
    path("callbacks/", callback_pages.callback_queue, name="callbacks"),
    path("callbacks/<int:callback_id>/take/", callback_pages.callback_take_view, name="callback_take"),
    path("callbacks/<int:callback_id>/complete/", callback_pages.callback_complete_view, name="callback_complete"),
    path("tickets/<int:ticket_id>/contact/", callback_pages.ticket_contact_panel, name="ticket_contact"),
    path("tickets/<int:ticket_id>/calls/", callback_pages.ticket_call_log_view, name="ticket_call_log"),
    path("kb/", knowledge_pages.kb_index, name="kb"),
    path("kb/report/", knowledge_pages.kb_report, name="kb_report"),
    path("kb/<slug:slug>/", knowledge_pages.kb_article, name="kb_article"),
    path("kb/<slug:slug>/reviewed/", knowledge_pages.kb_reviewed, name="kb_reviewed"),
]
