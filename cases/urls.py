"""Placeholder: the Cases pages come with the cases work and replace this file."""

from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [path("", views.case_list, name="case-list")]
