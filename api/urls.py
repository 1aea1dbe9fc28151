from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import filters, mail_accounts, views, web_views

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("cases", views.CaseViewSet, basename="case")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("emails", views.EmailViewSet, basename="email")
router.register("attachments", views.AttachmentViewSet, basename="attachment")
router.register(
    "group-email-accounts", mail_accounts.GroupEmailAccountViewSet, basename="group-email-account"
)
router.register(
    "personal-email-accounts",
    mail_accounts.PersonalEmailAccountViewSet,
    basename="personal-email-account",
)
router.register("filters", filters.EmailFilterViewSet, basename="filter")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("users", views.UserViewSet, basename="user")
router.register("teams", views.TeamViewSet, basename="team")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/v1/records-by-email/", views.FindByEmailView.as_view(), name="records-by-email"),
    path("api/schema/", SpectacularAPIView.as_view(urlconf=None), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("preferences/api-keys/", web_views.key_list, name="key-list"),
    path("preferences/api-keys/<int:pk>/revoke/", web_views.key_revoke, name="key-revoke"),
    path("administration/api-keys/", web_views.admin_key_list, name="admin-key-list"),
    path(
        "administration/api-keys/<int:pk>/revoke/",
        web_views.admin_key_revoke,
        name="admin-key-revoke",
    ),
]
