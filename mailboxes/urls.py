"""Placeholder: the Emails pages come with the mailboxes work and replace this file."""

from django.urls import path

from mailboxes import views

app_name = "mailboxes"
urlpatterns = [path("", views.inbox, name="inbox")]
