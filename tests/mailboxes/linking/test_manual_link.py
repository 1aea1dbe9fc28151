"""Changing an email's parent by hand: the service, its permissions and the form."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.models import Note, Notification
from crm.stream import record_follow
from mailboxes.linking.manual import email_set_parent, parent_search
from mailboxes.models import Email, EmailUser
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import import_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(make_user):
    return make_user("me", level="own")


@pytest.fixture
def acme(make_record, me):
    return make_record("account", me, name="Acme Corp", addresses=["info@acme.example"])


@pytest.fixture
def email(mailbox, acme, me):
    email = import_one(mailbox, make_message(sender="info@acme.example", subject="Invoice"))
    EmailUser.objects.get_or_create(email=email, user=me)
    return email


def email_notes(email):
    return list(Note.objects.filter(related_id=email.pk, type__in=Note.EMAIL_TYPES))


def test_moving_an_email_moves_its_stream_entry_and_tells_the_new_followers(
    email, acme, me, make_record, make_user
):
    deal = make_record("opportunity", me, name="Renewal", account=acme)
    watcher = make_user("watcher", level="all")
    record_follow(deal, watcher)
    Notification.objects.all().delete()
    assert [n.parent for n in email_notes(email)] == [acme]

    email_set_parent(email=email, parent=deal, user=me)

    email.refresh_from_db()
    assert (email.parent, email.account, email.linked_by) == (deal, acme, Email.LinkedBy.MANUAL)
    assert [(n.parent, n.super_parent) for n in email_notes(email)] == [(deal, acme)]
    assert Notification.objects.filter(user=watcher).count() == 1
    assert not Notification.objects.filter(user=me).exists()  # not told of their own change


def test_unlinking_removes_the_stream_entry(email, me):
    email_set_parent(email=email, parent=None, user=me)
    email.refresh_from_db()
    assert (email.parent, email.account, email.linked_by) == (None, None, Email.LinkedBy.NONE)
    assert email_notes(email) == []


def test_replies_without_a_parent_follow_the_email(mailbox, email, me, make_record):
    lead = make_record("lead", me, last_name="Prospect")
    Email.objects.filter(pk=email.pk).update(parent_type=None, parent_id=None, account=None)
    reply = import_one(
        mailbox,
        make_message(sender="someone@else.example", headers={"In-Reply-To": email.message_id}),
    )
    assert reply.parent is None and reply.replied == email
    email.refresh_from_db()

    email_set_parent(email=email, parent=lead, user=me)

    reply.refresh_from_db()
    assert (reply.parent, reply.linked_by) == (lead, Email.LinkedBy.REPLY)
    assert [n.parent for n in email_notes(reply)] == [lead]


def test_records_and_emails_the_user_cannot_see_are_refused(email, me, make_user, make_record):
    stranger = make_user("stranger", level="own")
    theirs = make_record("account", stranger, name="Theirs")
    with pytest.raises(PermissionDenied):
        email_set_parent(email=email, parent=theirs, user=me)
    with pytest.raises(PermissionDenied):
        email_set_parent(email=email, parent=None, user=stranger)


def test_search_by_name_address_and_case_number(me, acme, make_record):
    from cases.models import Case

    make_record("contact", me, first_name="Ayşe", last_name="Yılmaz", addresses=["a@y.example"])
    case = Case.objects.create(name="Printer", assigned_user=me)
    assert parent_search(me, "account", "acme") == [acme]
    assert parent_search(me, "account", "INFO@acme.example") == [acme]
    assert [str(c) for c in parent_search(me, "contact", "ayşe yıl")] == ["Ayşe Yılmaz"]
    # as the email search folds: letter case, accents, the Turkish i
    assert [str(c) for c in parent_search(me, "contact", "AYSE YILMAZ")] == ["Ayşe Yılmaz"]
    assert [str(c) for c in parent_search(me, "contact", "ayse yilmaz")] == ["Ayşe Yılmaz"]
    assert parent_search(me, "case", f"[#{case.number}]") == [case]
    assert parent_search(me, "account", "nothing like it") == []


def test_form_links_by_search_then_by_choice(email, me, make_record, logged_in):
    one = make_record("opportunity", me, name="Renewal 2025")
    two = make_record("opportunity", me, name="Renewal 2026")
    client = logged_in(me)
    url = reverse("mailboxes:email-parent", args=[email.pk])

    page = client.post(url, {"kind": "opportunity", "query": "renewal"}).content.decode()
    assert "Renewal 2025" in page and "Renewal 2026" in page  # choose one
    response = client.post(url, {"kind": "opportunity", "query": "renewal", "record": two.pk})
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.parent == two != one

    panel = client.post(url, {"kind": "opportunity", "query": "2025"}, HTTP_HX_REQUEST="true")
    assert 'id="parent-panel"' in panel.content.decode()
    assert "Manual" in panel.content.decode()
    email.refresh_from_db()
    assert email.parent == one


def test_form_shows_linked_by_and_hides_other_peoples_emails(email, me, make_user, logged_in):
    url = reverse("mailboxes:email-parent", args=[email.pk])
    page = logged_in(me).get(url).content.decode()
    assert "Acme Corp" in page and "by Sender" in page
    assert logged_in(make_user("nosy", level="own")).get(url).status_code == 404
