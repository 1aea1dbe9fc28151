from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="endpoint-list"),
    path("new/", views.endpoint_edit, name="endpoint-create"),
    path("<int:pk>/", views.endpoint_log, name="endpoint-log"),
    path("<int:pk>/edit/", views.endpoint_edit, name="endpoint-edit"),
    path("<int:pk>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path(
        "<int:pk>/deliveries/<uuid:delivery_id>/send-again/",
        views.delivery_send_again,
        name="delivery-send-again",
    ),
]
