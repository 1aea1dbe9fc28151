"""The bell, the notifications page, the user's preferences and language."""

from __future__ import annotations

from django.urls import reverse

from crm.models import Notification
from crm.notifications import notification_create
from crm.stream import note_create, record_follow


def _notify(user, record, author, body="news") -> Notification:
    record_follow(record, user)
    note_create(parent=record, author=author, body=body)
    return Notification.objects.filter(user=user).latest("id")


def test_bell_shows_unread_count(make_user, make_record, logged_in):
    me = make_user("me", level="all")
    author = make_user("author", level="all")
    account = make_record("account", author)
    _notify(me, account, author)
    _notify(me, account, author)

    response = logged_in(me).get(reverse("home"))

    assert response.context["unread_notification_count"] == 2
    assert 'class="count"' in response.content.decode()


def test_notifications_page_lists_post_with_link_and_excerpt(make_user, make_record, logged_in):
    me = make_user("me", level="all")
    author = make_user("author", level="all", first_name="Ann", last_name="Author")
    account = make_record("account", author, name="Acme")
    _notify(me, account, author, body="Please call <them>")

    body = logged_in(me).get(reverse("crm:notifications")).content.decode()

    assert "Ann Author posted on Acme" in body
    assert "Please call &lt;them&gt;" in body
    notification = Notification.objects.get(user=me)
    opened = logged_in(me).get(reverse("crm:notification-open", args=[notification.pk]))
    assert opened["Location"].startswith(account.get_absolute_url())


def test_mark_one_read_then_all_read(make_user, make_record, logged_in):
    me = make_user("me", level="all")
    author = make_user("author", level="all")
    account = make_record("account", author)
    first = _notify(me, account, author)
    second = _notify(me, account, author)
    client = logged_in(me)

    response = client.post(reverse("crm:notification-read", args=[first.pk]))
    assert response["Location"] == reverse("crm:notifications")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None

    client.post(reverse("crm:notifications-read-all"))
    assert not me.notifications.filter(read_at__isnull=True).exists()
    assert client.get(reverse("home")).context["unread_notification_count"] == 0


def test_marking_read_needs_post_and_only_touches_own(make_user, make_record, logged_in):
    me = make_user("me", level="all")
    other = make_user("other", level="all")
    theirs = notification_create(user=other, type=Notification.Type.MESSAGE, message="hi")
    client = logged_in(me)

    assert client.get(reverse("crm:notification-read", args=[theirs.pk])).status_code == 405
    client.post(reverse("crm:notification-read", args=[theirs.pk]))
    client.post(reverse("crm:notifications-read-all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_only_unread_filter(make_user, logged_in):
    me = make_user("me")
    notification_create(user=me, type=Notification.Type.MESSAGE, message="old news")
    Notification.objects.update(read_at="2026-01-01T00:00:00Z")
    notification_create(user=me, type=Notification.Type.MESSAGE, message="fresh news")

    body = logged_in(me).get(reverse("crm:notifications"), {"unread": 1}).content.decode()

    assert "fresh news" in body
    assert "old news" not in body


def test_notification_about_an_email_without_page_renders(make_user, logged_in):
    """Email pages come later; a notification about an email still renders (no link)."""
    from mailboxes.models import Email

    me = make_user("me")
    email = Email.objects.create(message_id="<n1@example.com>", subject="Invoice 42")
    notification_create(user=me, type=Notification.Type.EMAIL_RECEIVED, related=email)

    response = logged_in(me).get(reverse("crm:notifications"))

    assert response.status_code == 200
    assert "Invoice 42" in response.content.decode()


def test_preferences_save_digest_and_language(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)

    response = client.post(
        reverse("crm:preferences"),
        {
            "first_name": "Me",
            "last_name": "Myself",
            "email": "me@example.com",
            "language": "tr",
            "notification_digest": "hourly",
        },
    )

    assert response.status_code == 302
    me.refresh_from_db()
    assert (me.notification_digest, me.language, me.first_name) == ("hourly", "tr", "Me")


def test_language_switch_is_saved_on_the_user(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)

    response = client.post(
        reverse("crm:language"), {"language": "tr", "next": reverse("crm:account-list")}
    )

    assert response["Location"] == reverse("crm:account-list")
    me.refresh_from_db()
    assert me.language == "tr"
    assert response.cookies["django_language"].value == "tr"


def test_password_change_page_works(make_user, logged_in, client):
    me = make_user("me")
    response = logged_in(me).post(
        reverse("crm:password-change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "another long passphrase",
            "new_password2": "another long passphrase",
        },
    )
    assert response["Location"] == reverse("crm:password-changed")
    me.refresh_from_db()
    assert me.check_password("another long passphrase")


def test_login_and_logout(make_user, client):
    make_user("me")
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()

    response = client.post(
        reverse("login"), {"username": "me", "password": "correct horse battery"}
    )
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200

    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_error(make_user, client):
    make_user("me")
    response = client.post(reverse("login"), {"username": "me", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_placeholder_email_and_case_pages_need_login(make_user, logged_in, client):
    assert client.get(reverse("mailboxes:inbox")).status_code == 302
    assert client.get(reverse("cases:case-list")).status_code == 302
    client = logged_in(make_user("me"))
    assert client.get(reverse("mailboxes:inbox")).status_code == 200
    assert client.get(reverse("cases:case-list")).status_code == 200


def test_not_found_page_renders_for_anonymous_and_logged_in(make_user, logged_in, client):
    assert client.get("/no-such-page/").status_code == 404
    response = logged_in(make_user("me")).get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
