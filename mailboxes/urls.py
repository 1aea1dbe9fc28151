"""Placeholder: the Emails pages come with the mailboxes work and replace this file."""

from django.urls import path

from mailboxes import views

app_name = "mailboxes"
urlpatterns = [path("", views.inbox, name="inbox")]

# The email's parent, changed by hand (linking).
from mailboxes import views_linking  # noqa: E402

urlpatterns += [
    path("<int:pk>/parent/", views_linking.email_parent, name="email-parent"),
]
