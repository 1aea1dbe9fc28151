from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from crm.views.home import home

# INSTALLED_APPS has SimpleAdminConfig: the apps' admin modules load with the web site only
admin.autodiscover()

# A path under /api/ that names no operation answers a problem document (RFC 9457), as
# every other API error does; other paths the 404 page.
handler404 = "api.problems.not_found_handler"

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("emails/", include("mailboxes.urls")),
    path("cases/", include("cases.urls")),
    path("meetings/", include("meetings.urls")),
    path("filters/", include("filters.urls")),
    path("email-templates/", include("mailtemplates.urls")),
    path("administration/webhooks/", include("webhooks.urls")),
    path("administration/", include("crm.administration.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("ops.urls")),
    path("", include("api.urls")),
    path("", include("crm.web_urls")),
]
