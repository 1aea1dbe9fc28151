from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from crm.views import me, records, stream

app_name = "crm"

urlpatterns = [
    path("notifications/", me.notification_list, name="notifications"),
    path("notifications/read-all/", me.notification_mark_all_read, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", me.notification_mark_read, name="notification-read"),
    path("notifications/<int:pk>/open/", me.notification_open, name="notification-open"),
    path("notifications/bell/", me.notification_bell, name="notification-bell"),
    path("preferences/", me.preferences, name="preferences"),
    path("preferences/language/", me.language_set, name="language"),
    path(
        "preferences/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="crm/password_change.html",
            success_url=reverse_lazy("crm:password-changed"),
        ),
        name="password-change",
    ),
    path(
        "preferences/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="crm/password_changed.html"),
        name="password-changed",
    ),
    path("stream/<str:label>/<int:pk>/", stream.stream_panel, name="record-stream"),
    path("stream/<str:label>/<int:pk>/follow/", stream.follow, name="record-follow"),
    path("stream/<str:label>/<int:pk>/unfollow/", stream.unfollow, name="record-unfollow"),
    path("stream/<str:label>/<int:pk>/post/", stream.note_post, name="record-note"),
    path("leads/<int:pk>/convert/", records.LeadConvertView.as_view(), name="lead-convert"),
]

for _prefix, _screen in (
    ("accounts", records.ACCOUNTS),
    ("contacts", records.CONTACTS),
    ("leads", records.LEADS),
    ("opportunities", records.OPPORTUNITIES),
):
    _name = _screen.name
    urlpatterns += [
        path(f"{_prefix}/", records.RecordListView.as_view(screen=_screen), name=f"{_name}-list"),
        path(
            f"{_prefix}/new/",
            records.RecordCreateView.as_view(screen=_screen),
            name=f"{_name}-create",
        ),
        path(
            f"{_prefix}/<int:pk>/",
            records.RecordDetailView.as_view(screen=_screen),
            name=f"{_name}-detail",
        ),
        path(
            f"{_prefix}/<int:pk>/edit/",
            records.RecordUpdateView.as_view(screen=_screen),
            name=f"{_name}-edit",
        ),
        path(
            f"{_prefix}/<int:pk>/addresses/<int:address>/valid/",
            records.AddressMarkValidView.as_view(screen=_screen),
            name=f"{_name}-address-valid",
        ),
        path(
            f"{_prefix}/<int:pk>/delete/",
            records.RecordDeleteView.as_view(screen=_screen),
            name=f"{_name}-delete",
        ),
    ]
