from django.urls import path

from filters import views

app_name = "filters"
urlpatterns = [
    path("", views.my_filters, name="my-list"),
    path("administration/", views.admin_filters, name="admin-list"),
    path("new/", views.filter_create, name="create"),
    path("<int:pk>/", views.filter_edit, name="edit"),
    path("<int:pk>/move/", views.filter_move_view, name="move"),
    path("<int:pk>/toggle/", views.filter_toggle, name="toggle"),
    path("<int:pk>/delete/", views.filter_delete_view, name="delete"),
    path("<int:pk>/skipped/", views.filter_skipped, name="skipped"),
    path(
        "<int:pk>/skipped/<int:raw_pk>/import/",
        views.filter_skipped_import,
        name="skipped-import",
    ),
]
