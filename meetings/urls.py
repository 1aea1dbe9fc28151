from django.urls import path

from meetings import views

app_name = "meetings"
urlpatterns = [
    path("<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("<int:pk>/status/", views.meeting_status, name="meeting-status"),
    path("from-email/<int:pk>/add/", views.invitation_add, name="invitation-add"),
    path("from-email/<int:pk>/respond/", views.invitation_respond, name="invitation-respond"),
]
