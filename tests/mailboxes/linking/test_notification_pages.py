"""The bell, the notifications page and the stream as a follower of a record sees them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Note, Notification
from crm.stream import record_follow
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import import_messages, import_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(make_user, acme):
    user = make_user("reader", level="all")
    record_follow(acme, user)
    return user


def test_bell_endpoint_returns_the_current_count(mailbox, acme, reader, logged_in, client):
    client = logged_in(reader)
    bell = client.get(reverse("crm:notification-bell")).content.decode()
    assert 'id="notification-bell"' in bell and "notification-count" not in bell

    import_one(mailbox, make_message(sender="info@acme.example"))

    bell = client.get(reverse("crm:notification-bell")).content.decode()
    assert 'data-testid="notification-count"' in bell and ">1</span>" in bell
    assert 'hx-trigger="every 30s' in bell


def test_bell_endpoint_stops_polling_after_logout(client):
    assert client.get(reverse("crm:notification-bell")).status_code == 286


def test_every_page_polls_the_bell(reader, logged_in, settings):
    settings.POSTACI_NOTIFICATION_POLL_SECONDS = 5
    page = logged_in(reader).get(reverse("home")).content.decode()
    assert reverse("crm:notification-bell") in page and "every 5s" in page


def test_email_notification_shows_subject_sender_record_and_opens_the_stream_entry(
    mailbox, acme, reader, logged_in
):
    email = import_one(
        mailbox, make_message(sender="Info Desk <info@acme.example>", subject="Price <list>")
    )
    notification = Notification.objects.get(user=reader)
    client = logged_in(reader)

    page = client.get(reverse("crm:notifications")).content.decode()
    assert "New email on Acme" in page
    assert "Price &lt;list&gt;" in page and "Info Desk &lt;info@acme.example&gt;" in page
    open_url = reverse("crm:notification-open", args=[notification.pk])
    assert f'href="{open_url}"' in page

    response = client.get(open_url)
    note = Note.objects.get(related_id=email.pk, type=Note.Type.EMAIL_RECEIVED)
    assert response["Location"] == f"{acme.get_absolute_url()}?note={note.pk}#note-{note.pk}"
    notification.refresh_from_db()
    assert notification.read_at is not None
    stream = client.get(response["Location"]).content.decode()
    assert f'id="note-{note.pk}"' in stream and "Price &lt;list&gt;" in stream
    assert "linked by sender" in stream


def test_recipient_notification_opens_the_email_page(mailbox, make_user, team, acme, logged_in):
    agent = make_user("agent", level="own", teams=[team])
    import_one(mailbox, make_message(sender="info@acme.example", subject="Hello"))
    notification = Notification.objects.get(user=agent)
    assert notification.type == Notification.Type.EMAIL_RECEIVED
    client = logged_in(agent)

    page = client.get(reverse("crm:notifications")).content.decode()
    assert "New email on Acme" in page and "Hello" in page
    target = client.get(reverse("crm:notification-open", args=[notification.pk]))["Location"]
    assert target == notification.related.get_absolute_url()
    assert client.get(target).status_code == 200


def test_nobody_opens_another_users_notification(mailbox, acme, reader, make_user, logged_in):
    import_one(mailbox, make_message(sender="info@acme.example"))
    theirs = Notification.objects.get(user=reader)
    other = logged_in(make_user("other", level="all"))
    assert other.get(reverse("crm:notification-open", args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_notifications_page_and_stream_queries_do_not_grow_with_items(
    count,
    mailbox,
    make_user,
    make_record,
    owner,
    team,
    acme,
    logged_in,
    django_assert_max_num_queries,
):
    me = make_user("me", level="all", teams=[team])
    record_follow(acme, me)
    contact = make_record("contact", owner, last_name="C", account=acme, addresses=["c@x.example"])
    record_follow(contact, me)
    raws = [
        make_message(sender=("info@acme.example", "c@x.example", "x@nowhere.example")[i % 3])
        for i in range(count)
    ]
    import_messages(mailbox, *raws)
    assert Notification.objects.filter(user=me).count() == count
    client = logged_in(me)

    # 8 today for 3 items as for 30: one prefetch per kind of record, none per item
    with django_assert_max_num_queries(10):
        response = client.get(reverse("crm:notifications"))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="notification-open"') == count

    # the Account's stream, showing these emails (17 today, 20 notes a page)
    with django_assert_max_num_queries(20):
        response = client.get(acme.get_absolute_url())
    shown = [n for n in response.context["stream"].object_list if n.type == "email_received"]
    assert len(shown) == min(count - count // 3, 20)


def test_case_note_shows_the_new_text_with_the_whole_email_one_click_away(
    make_user, team, logged_in
):
    from cases.models import Case, CaseDistribution
    from mailboxes.models import GroupEmailAccount

    agent = make_user("agent", level="all", teams=[team])
    support = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.DIRECT,
        assign_to_user=agent,
    )
    body = "New words.\n\nOn Mon, 1 Jan 2024, Ali <ali@x.example> wrote:\n> quoted history\n"
    import_one(support, make_message(sender="c@x.example", to="support@postaci.example", body=body))
    case = Case.objects.get()

    from crm.views.stream import stream_context

    request = type("R", (), {"user": agent, "GET": {}})()
    notes = stream_context(request, case)["stream"].object_list
    note = next(n for n in notes if n.type == Note.Type.EMAIL_RECEIVED)
    assert note.display_body == "New words."
    assert "quoted history" in note.full_text
