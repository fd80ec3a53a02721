from django.contrib import admin
from django.urls import include, path, re_path

from config.api import api
from posdesk.core import views as core_views
from posdesk.tickets import views as ticket_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<path>.*)$", core_views.api_not_found),
    path("admin/", admin.site.urls),
    path("console/", include("posdesk.console.urls")),
    path("portal/", include("posdesk.portal.urls")),
    path("channels/", include("posdesk.channels.urls")),
    path("attachments/<int:attachment_id>", ticket_views.attachment_download, name="attachment"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", core_views.home, name="home"),
]
