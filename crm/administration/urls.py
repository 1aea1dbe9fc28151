from django.urls import path

from crm.administration import views

app_name = "administration"
urlpatterns = [
    path("", views.index, name="index"),
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_edit, name="user-create"),
    path("users/<int:pk>/", views.user_edit, name="user-edit"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_edit, name="team-create"),
    path("teams/<int:pk>/", views.team_edit, name="team-edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team-delete"),
    path("teams/<int:pk>/notifications/", views.team_notifications, name="team-notifications"),
    path("roles/", views.role_list, name="role-list"),
    path("roles/new/", views.role_edit, name="role-create"),
    path("roles/<int:pk>/", views.role_edit, name="role-edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role-delete"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/<int:pk>/", views.job_edit, name="job-edit"),
    path("jobs/<int:pk>/run/", views.job_run, name="job-run"),
]
