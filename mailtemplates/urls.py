from django.urls import path

from mailtemplates import views

app_name = "mailtemplates"
urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_create, name="create"),
    path("<int:pk>/", views.template_edit, name="edit"),
    path("<int:pk>/delete/", views.template_delete, name="delete"),
    path("<int:pk>/preview/", views.template_preview, name="preview"),
    path("picker/", views.picker_search, name="picker"),
    path("<int:pk>/render/", views.picker_render, name="render"),
]
