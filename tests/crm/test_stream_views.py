"""Following records and their stream: services, views and the stream panel."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm.models import Follow, Note, Notification
from crm.stream import (
    followers_of,
    is_following,
    note_create,
    record_follow,
    record_unfollow,
    stream_for,
)
from mailboxes.models import Email, EmailUser


def url(name: str, record) -> str:
    return reverse(f"crm:{name}", args=[record._meta.label_lower, record.pk])


def test_creator_and_assignee_follow_a_new_record(make_user, make_record):
    creator = make_user("creator", level="all")
    assignee = make_user("assignee", level="own")
    account = make_record("account", creator, assigned_user=assignee)

    assert set(followers_of(account)) == {creator, assignee}
    assigned = Notification.objects.get(user=assignee)
    assert assigned.type == Notification.Type.ASSIGNED
    assert assigned.related == account
    assert not Notification.objects.filter(user=creator).exists()


def test_follow_and_unfollow_are_idempotent(make_user, make_record):
    owner = make_user("owner", level="own")
    other = make_user("other", level="all")
    account = make_record("account", owner)

    assert record_follow(account, other) is True
    assert record_follow(account, other) is False
    assert is_following(account, other)
    assert record_unfollow(account, other) is True
    assert record_unfollow(account, other) is False
    assert not is_following(account, other)


def test_follow_button_follows_then_unfollows(make_user, make_record, logged_in):
    owner = make_user("owner", level="own")
    me = make_user("me", level="all")
    account = make_record("account", owner)
    client = logged_in(me)

    page = client.get(account.get_absolute_url()).content.decode()
    assert url("record-follow", account) in page

    response = client.post(url("record-follow", account))
    assert response.status_code == 302
    assert response["Location"] == account.get_absolute_url()
    assert is_following(account, me)

    page = client.get(account.get_absolute_url())
    assert me in page.context["followers"]
    assert url("record-unfollow", account) in page.content.decode()

    client.post(url("record-unfollow", account))
    assert not is_following(account, me)


def test_follow_with_htmx_returns_the_panel(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    record_unfollow(account, me)

    response = logged_in(me).post(url("record-follow", account), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="follow-panel"' in body
    assert "Unfollow" in body
    assert "<html" not in body


def test_follow_needs_post(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    assert logged_in(me).get(url("record-follow", account)).status_code == 405


def test_follow_refuses_a_redirect_to_another_site(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    response = logged_in(me).post(url("record-follow", account), {"next": "https://evil.test/"})
    assert response["Location"] == account.get_absolute_url()


def test_unknown_record_type_is_404(make_user, logged_in):
    client = logged_in(make_user("me", level="all"))
    assert client.post(reverse("crm:record-follow", args=["crm.user", 1])).status_code == 404
    assert client.post(reverse("crm:record-follow", args=["nope.nothing", 1])).status_code == 404


def test_posting_a_note_shows_it_and_notifies_followers(make_user, make_record, logged_in):
    author = make_user("author", level="all")
    follower = make_user("follower", level="all")
    account = make_record("account", author)
    record_follow(account, follower)
    client = logged_in(author)

    response = client.post(url("record-note", account), {"body": "Called <them> today"})

    assert response.status_code == 302
    note = Note.objects.get(type=Note.Type.POST)
    assert note.parent == account and note.author == author
    page = client.get(account.get_absolute_url()).content.decode()
    assert "Called &lt;them&gt; today" in page
    notification = Notification.objects.get(user=follower, type=Notification.Type.NOTE)
    assert notification.note == note
    assert not Notification.objects.filter(user=author, type=Notification.Type.NOTE).exists()


def test_posting_an_empty_note_is_refused(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    client = logged_in(me)

    response = client.post(url("record-note", account), {"body": "  "}, follow=True)

    assert not Note.objects.filter(type=Note.Type.POST).exists()
    assert "Write something before posting." in response.content.decode()

    response = client.post(url("record-note", account), {"body": ""}, HTTP_HX_REQUEST="true")
    assert 'id="stream-panel"' in response.content.decode()
    assert "Write something before posting." in response.content.decode()


def test_account_stream_includes_visible_children_only(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    stranger = make_user("stranger", level="own")
    account = make_record("account", me)
    mine = make_record("contact", me, account=account)
    hidden = make_record("contact", stranger, account=account, last_name="Secret Person")
    note_create(parent=mine, author=me, body="about my contact")
    note_create(parent=hidden, author=stranger, body="about the hidden contact")

    bodies = [n.body for n in stream_for(account, me) if n.type == Note.Type.POST]
    assert bodies == ["about my contact"]
    page = logged_in(me).get(account.get_absolute_url()).content.decode()
    assert "about my contact" in page
    assert "about the hidden contact" not in page
    assert "Secret Person" not in page
    # the contact's own stream does not show the account's other notes
    assert [n.body for n in stream_for(mine, me) if n.type == Note.Type.POST] == [
        "about my contact"
    ]


def test_stream_is_newest_first_and_paginated(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    for i in range(25):
        note_create(parent=account, author=me, body=f"note number {i}")
    client = logged_in(me)

    first = client.get(account.get_absolute_url()).context["stream"]
    assert first.object_list[0].body == "note number 24"
    assert first.has_next()
    second = client.get(account.get_absolute_url() + "?stream_page=2").context["stream"]
    assert "note number 0" in [n.body for n in second.object_list]

    panel = client.get(url("record-stream", account) + "?stream_page=2")
    assert panel.status_code == 200
    assert "note number 0" in panel.content.decode()


def test_a_link_to_an_older_note_opens_the_stream_page_that_holds_it(
    make_user, make_record, logged_in
):
    """Notifications link to ``?note=<id>``: the stream opens at that note's page."""
    me = make_user("me", level="own")
    stranger = make_user("stranger", level="own")
    account = make_record("account", me)
    hidden = make_record("contact", stranger, account=account)
    notes = [note_create(parent=account, author=me, body=f"note number {i}") for i in range(45)]
    for i in range(20):  # on the account's stream only for those who may see the contact
        note_create(parent=hidden, author=stranger, body=f"hidden {i}")
    client = logged_in(me)

    oldest = notes[0]
    response = client.get(f"{account.get_absolute_url()}?note={oldest.pk}")
    assert response.context["stream"].number == 3  # 44 newer notes, 20 a page
    assert f'id="note-{oldest.pk}"' in response.content.decode()
    middle = notes[24]  # 20 newer notes: the first one on page 2
    assert (
        client.get(f"{account.get_absolute_url()}?note={middle.pk}").context["stream"].number == 2
    )
    assert (
        client.get(f"{account.get_absolute_url()}?note={notes[25].pk}").context["stream"].number
        == 1
    )
    # An explicit page wins; a note the user cannot see (or none) opens the first page.
    explicit = client.get(f"{account.get_absolute_url()}?note={oldest.pk}&stream_page=2")
    assert explicit.context["stream"].number == 2
    secret = Note.objects.filter(body="hidden 0").get()
    assert (
        client.get(f"{account.get_absolute_url()}?note={secret.pk}").context["stream"].number == 1
    )


def _email(subject: str, body: str, n: int) -> Email:
    return Email.objects.create(message_id=f"<m{n}@example.com>", subject=subject, body_text=body)


def test_email_notes_show_subject_and_escaped_body(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    email = _email("Quote request", "Hello,\n<script>alert(1)</script>", 1)
    EmailUser.objects.create(email=email, user=me)
    note_create(parent=account, type=Note.Type.EMAIL_RECEIVED, related=email, notify=False)

    page = logged_in(me).get(account.get_absolute_url()).content.decode()

    assert "Quote request" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


def test_email_notes_hide_emails_the_user_may_not_read(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    email = _email("Private matter", "secret body", 1)  # no EmailUser row for me
    note_create(parent=account, type=Note.Type.EMAIL_RECEIVED, related=email, notify=False)

    page = logged_in(me).get(account.get_absolute_url()).content.decode()

    assert "Private matter" not in page
    assert "secret body" not in page
    assert "You do not have access to this item." in page


def test_email_notes_keep_the_text_of_an_email_the_user_may_not_read(
    make_user, make_record, logged_in
):
    """A case's email note carries the email's text (as intake writes it); a user who may
    see the record but not the email reads neither."""
    me = make_user("me", level="own")
    account = make_record("account", me)
    email = _email("Private matter", "secret body", 1)  # no EmailUser row for me
    note_create(
        parent=account, type=Note.Type.EMAIL_SENT, related=email, body="secret body", notify=False
    )

    page = logged_in(me).get(account.get_absolute_url()).content.decode()

    assert "secret body" not in page
    assert "You do not have access to this item." in page
    EmailUser.objects.create(email=email, user=me)
    assert "secret body" in logged_in(me).get(account.get_absolute_url()).content.decode()


@pytest.mark.parametrize("notes", [3, 30])
def test_stream_query_count_does_not_grow_with_notes(
    notes, make_user, make_record, logged_in, django_assert_max_num_queries
):
    me = make_user("me", level="own")
    authors = [make_user(f"author{i}", level="all") for i in range(3)]
    account = make_record("account", me)
    contact = make_record("contact", me, account=account)
    for i in range(notes):
        email = _email(f"Subject {i}", f"Body {i}", i)
        EmailUser.objects.create(email=email, user=me)
        parent = contact if i % 2 else account
        note_create(parent=parent, author=authors[i % 3], body=f"post {i}", notify=False)
        note_create(parent=parent, type=Note.Type.EMAIL_RECEIVED, related=email, notify=False)
    client = logged_in(me)

    # 17 today, for 3 notes as for 30 (20 per page): nothing is queried per note
    with django_assert_max_num_queries(20):
        response = client.get(account.get_absolute_url())
    assert response.status_code == 200
    # two notes per round, plus "created" notes of the account and the contact
    assert len(response.context["stream"].object_list) == min(2 * notes + 2, 20)


def test_deleting_a_record_deletes_its_stream_and_follows(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    note_create(parent=account, author=me, body="bye")
    content_type = ContentType.objects.get_for_model(account)

    logged_in(me).post(reverse("crm:account-delete", args=[account.pk]))

    assert not Note.objects.filter(parent_type=content_type, parent_id=account.pk).exists()
    assert not Follow.objects.filter(content_type=content_type, object_id=account.pk).exists()
