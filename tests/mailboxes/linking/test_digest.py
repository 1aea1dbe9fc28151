"""Email digests of unread notifications, through the real (test) system SMTP server."""

from __future__ import annotations

import pytest
from django.utils import timezone

from crm.models import Notification
from crm.stream import note_create, record_follow
from mailboxes.notes.digest import notification_digests_send
from mailboxes.tasks import send_daily_digests, send_hourly_digests
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import import_one

pytestmark = pytest.mark.django_db


def body_of(captured) -> str:
    return captured.message.get_payload(decode=True).decode()


def test_daily_digest_lists_news_but_never_mail_the_user_already_has(
    system_smtp_server, mailbox, make_user, team, owner, acme, settings
):
    settings.POSTACI_SITE_URL = "https://crm.example"
    me = make_user("me", level="all", teams=[team], notification_digest="daily", first_name="Mia")
    record_follow(acme, me)
    outsider = make_user("outsider", level="all", notification_digest="daily")
    record_follow(acme, outsider)
    import_one(
        mailbox, make_message(sender="info@acme.example", subject="Quote please", to="x@y.example")
    )
    import_one(
        mailbox,
        make_message(sender="info@acme.example", subject="Cc to me", to=f"a@b.example, {me.email}"),
    )
    import_one(
        mailbox,
        make_message(sender="info@acme.example", subject="For followers", to="z@acme.example"),
    )
    note_create(parent=acme, author=owner, body="Call them tomorrow")
    assert Notification.objects.filter(user=me).count() == 4  # 3 emails (copies) + 1 post

    assert notification_digests_send(frequency="daily") == 2

    by_rcpt = {m.rcpt_tos[0]: m for m in system_smtp_server.wait_for_messages(2)}
    mine, theirs = body_of(by_rcpt[me.email]), body_of(by_rcpt[outsider.email])
    # me has a copy of every email (the team mailbox): only the post is news
    assert "Call them tomorrow" in mine and "Hello Mia" in mine
    assert "Quote please" not in mine and "Cc to me" not in mine and "For followers" not in mine
    assert by_rcpt[me.email].message["Subject"] == "Postaci: 1 unread notification"
    # the outsider follows Acme without copies: every email is news, with a link to open it
    assert "New email on Acme: Quote please (from info@acme.example)" in theirs, theirs
    assert "New email on Acme: For followers" in theirs
    assert "https://crm.example/notifications/" in theirs
    assert by_rcpt[outsider.email].message["Auto-Submitted"] == "auto-generated"
    assert (
        not Notification.objects.filter(emailed_at__isnull=True)
        .exclude(user__notification_digest="never")
        .exists()
    )

    system_smtp_server.clear()
    assert notification_digests_send(frequency="daily") == 0  # each notification once


def test_follower_in_cc_gets_no_digest_of_that_email(system_smtp_server, mailbox, make_user, acme):
    follower = make_user("follower", level="all", notification_digest="hourly")
    record_follow(acme, follower)
    import_one(
        mailbox,
        make_message(sender="info@acme.example", to=f"sales@postaci.example, {follower.email}"),
    )
    assert Notification.objects.filter(user=follower).count() == 1

    assert send_hourly_digests() == 0
    assert system_smtp_server.messages == []


def test_digest_respects_frequency_and_read_notifications(
    system_smtp_server, make_user, owner, acme
):
    hourly = make_user("hourly", level="all", notification_digest="hourly")
    never = make_user("never", level="all")
    reader = make_user("reader", level="all", notification_digest="daily")
    for user in (hourly, never, reader):
        record_follow(acme, user)
    note_create(parent=acme, author=owner, body="news")
    Notification.objects.filter(user=reader).update(read_at=timezone.now())

    assert send_daily_digests() == 0
    assert send_hourly_digests() == 1
    [captured] = system_smtp_server.wait_for_messages(1)
    assert captured.rcpt_tos == [hourly.email]


def test_digest_speaks_the_users_language(system_smtp_server, make_user, owner, acme):
    turkish = make_user("ayse", level="all", notification_digest="daily", language="tr")
    record_follow(acme, turkish)
    note_create(parent=acme, author=owner, body="haber")

    notification_digests_send(frequency="daily")

    [captured] = system_smtp_server.wait_for_messages(1)
    assert "okunmamış" in captured.message["Subject"]
