"""Placeholder: the Emails pages come with the mailboxes work and replace this file."""

from django.urls import path

from mailboxes import views, views_compose

app_name = "mailboxes"
urlpatterns = [path("", views.inbox, name="inbox")]

# Sending (views_compose.py)
urlpatterns += [
    path("compose/", views_compose.compose, name="compose"),
    path("compose/<int:pk>/", views_compose.compose, name="compose-draft"),
    path("<int:pk>/reply/", views_compose.compose_reply, name="email-reply"),
    path("<int:pk>/reply-all/", views_compose.compose_reply_all, name="email-reply-all"),
    path("<int:pk>/forward/", views_compose.compose_forward, name="email-forward"),
    path("<int:pk>/retry/", views_compose.retry, name="email-retry"),
    path("addresses/suggest/", views_compose.address_suggest, name="address-suggest"),
    path(
        "accounts/<int:pk>/send-test/",
        views_compose.account_send_test_view,
        name="account-send-test",
    ),
]
