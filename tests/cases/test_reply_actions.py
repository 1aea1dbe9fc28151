"""Finish a case in one action: "Send and set Pending", "Send and close" and reassigning in
the case's reply box; the case changes only when the server accepted the email, and the
stream shows the email and the change as one entry (aiosmtpd as the server)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from cases.models import Case
from crm.addresses import record_set_addresses
from crm.models import Contact, Note, Notification, Role
from crm.stream import stream_page
from mailboxes.models import Email
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.send import email_retry
from tests.cases.conftest import case_updated_endpoint, join, make_user
from tests.cases.test_case_pages import CUSTOMER, incoming
from tests.mailboxes.sending.conftest import role, smtp_fields


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def support(make_account, smtp_server, team):
    account = make_account(smtp_is_shared=True, from_name="Destek", **smtp_fields(smtp_server))
    account.teams.set([team])
    return account


@pytest.fixture
def agent(team):
    user = join(team, make_user("agent"))
    user.roles.add(role("team"))
    return user


@pytest.fixture
def case(support, agent):
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz")
    record_set_addresses(contact, [CUSTOMER])
    return Case.objects.create(
        name="Printer broken", group_account=support, contact=contact, assigned_user=agent
    )


def post_reply(client, case, support, first, **extra):
    data = {
        "from_account": support.pk,
        "to": f"Ayşe Yılmaz <{CUSTOMER}>",
        "subject": f"Re: [#{case.number}] Printer broken",
        "body": "Please restart it.",
        "parent_type": "cases.case",
        "parent_id": case.pk,
        "replied": first.pk,
        "next": case.get_absolute_url(),
    }
    data.update(extra)
    return client.post(reverse("mailboxes:compose"), data)


def stream_lines(case, user) -> list[str]:
    from crm.kinds import note_kind_of

    return [note_kind_of(n).stream_line(n, html=False) for n in stream_page(case, user).object_list]


@pytest.fixture
def colleague(team):
    user = join(team, make_user("berna"))
    user.first_name, user.last_name = "Berna", "Kaya"
    user.save()
    user.roles.add(role("team"))
    return user


def test_reply_box_offers_send_and_set_pending_close_and_the_assignees(
    case, agent, colleague, logged_in
):
    incoming(case)
    outsider = make_user("outsider")
    outsider.roles.add(Role.objects.create(name="No cases", case_access="no"))
    html = logged_in(agent).get(case.get_absolute_url()).content.decode()
    box = html[html.index('id="reply-box"') :]
    assert 'name="case_status" value="pending"' in box and "Send and set Pending" in box
    assert 'name="case_status" value="closed"' in box and "Send and close" in box
    assignees = box[box.index('name="case_assignee"') :]
    assignees = assignees[: assignees.index("</select>")]
    assert f'<option value="{agent.pk}" selected>' in assignees
    assert "Berna Kaya" in assignees
    assert "outsider" not in assignees  # may not open cases: cannot be given one


def test_send_and_set_pending_changes_the_case_when_the_server_accepts_it(
    case, support, agent, logged_in, smtp_server
):
    first = incoming(case)
    client = logged_in(agent)
    response = post_reply(client, case, support, first, case_status="pending")
    assert response["Location"] == case.get_absolute_url()
    reply = Email.objects.get(status=Email.Status.SENDING)
    case.refresh_from_db()
    assert case.status == Case.Status.NEW  # not before the email has left

    email_deliver(reply.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["In-Reply-To"] == first.message_id
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING
    [note] = Note.objects.filter(parent_id=case.pk, type__in=["email_sent", "status", "assign"])
    assert note.type == Note.Type.EMAIL_SENT and note.data["status"] == "pending"
    assert stream_lines(case, agent)[0] == f"{agent} sent an email and set the status to Pending"
    with translation.override("tr"):
        assert stream_lines(case, agent)[0] == (
            f"{agent} bir e-posta gönderdi ve durumu Bekliyor olarak ayarladı"
        )


def test_send_and_close_with_a_reassignment_is_one_entry_and_tells_the_new_assignee(
    case, support, agent, colleague, logged_in, smtp_server
):
    first = incoming(case)
    post_reply(
        logged_in(agent), case, support, first, case_status="closed", case_assignee=colleague.pk
    )
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    case.refresh_from_db()
    assert (case.status, case.assigned_user) == (Case.Status.CLOSED, colleague)
    assert stream_lines(case, agent)[0] == (
        f"{agent} sent an email, set the status to Closed and assigned it to Berna Kaya"
    )
    assert Note.objects.filter(parent_id=case.pk, type__in=["status", "assign"]).count() == 0
    [told] = Notification.objects.filter(user=colleague)  # once, for the one action
    assert (told.type, told.related) == (Notification.Type.ASSIGNED, case)


def test_a_refused_send_leaves_the_case_alone_and_retry_applies_the_choice(
    case, support, agent, logged_in, smtp_server
):
    first = incoming(case)
    post_reply(logged_in(agent), case, support, first, case_status="closed")
    reply = Email.objects.get(status=Email.Status.SENDING)
    page = logged_in(agent).get(case.get_absolute_url()).content.decode()
    assert "When sent: status Closed." in page
    smtp_server.fail_next(code=554, at="data")
    email_deliver(reply.pk)
    reply.refresh_from_db()
    case.refresh_from_db()
    assert reply.status == Email.Status.FAILED
    assert case.status == Case.Status.NEW  # the customer got nothing: the case stays open
    assert not Note.objects.filter(parent_id=case.pk, type="email_sent").exists()
    page = logged_in(agent).get(case.get_absolute_url()).content.decode()
    assert "Not sent" in page and "When sent: status Closed." in page  # Retry closes it

    email_retry(email=reply, user=agent)
    email_deliver(reply.pk)
    smtp_server.wait_for_messages(1)
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert stream_lines(case, agent)[0] == f"{agent} sent an email and set the status to Closed"


def test_a_status_changed_while_sending_is_kept_and_the_note_says_so(
    case, support, agent, logged_in, smtp_server
):
    first = incoming(case)
    post_reply(logged_in(agent), case, support, first, case_status="pending")
    Case.objects.filter(pk=case.pk).update(status=Case.Status.REJECTED)  # a colleague, meanwhile
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    case.refresh_from_db()
    assert case.status == Case.Status.REJECTED
    note = Note.objects.get(parent_id=case.pk, type="email_sent")
    assert stream_lines(case, agent)[0] == f"{agent} sent an email"
    from crm.kinds import note_kind_of

    assert str(note_kind_of(note).detail_of(note)) == (
        "The status stayed Rejected: it was changed after this email was sent."
    )


def test_a_user_who_may_not_change_the_case_cannot_set_its_status(
    case, support, agent, team, logged_in, smtp_server
):
    first = incoming(case)
    # sees only their own cases: this one is the agent's
    viewer = join(team, make_user("viewer"))
    viewer.roles.add(role("team", case_access="own"))
    response = post_reply(logged_in(viewer), case, support, first, case_status="closed")
    assert response.status_code == 200  # the compose page with the error
    assert not Email.objects.filter(status=Email.Status.SENDING).exists()
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


@pytest.mark.parametrize(
    "extra",
    [{"case_status": "duplicate"}, {"case_status": "pending", "case_assignee": "999999"}],
)
def test_a_status_or_assignee_the_box_does_not_offer_is_refused(
    case, support, agent, logged_in, extra
):
    first = incoming(case)
    response = post_reply(logged_in(agent), case, support, first, **extra)
    assert response.status_code == 200
    assert not Email.objects.filter(status=Email.Status.SENDING).exists()


def test_the_choice_is_checked_again_for_the_sender_when_applied(
    case, support, agent, logged_in, smtp_server
):
    first = incoming(case)
    post_reply(logged_in(agent), case, support, first, case_status="closed")
    agent.roles.set([role("team", case_access="no")])  # lost access before it left
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    case.refresh_from_db()
    assert case.status == Case.Status.NEW
    assert Email.objects.get(subject__startswith="Re:").status == Email.Status.SENT


def test_the_full_compose_page_about_a_case_offers_the_same_buttons(case, agent, logged_in):
    url = reverse("mailboxes:compose") + f"?parent_type=cases.case&parent_id={case.pk}"
    page = logged_in(agent).get(url).content.decode()
    assert 'name="case_status" value="closed"' in page
    other = logged_in(agent).get(reverse("mailboxes:compose")).content.decode()
    assert 'name="case_status"' not in other  # no case: only Send


def test_a_status_someone_else_set_to_the_same_value_meanwhile_needs_no_word(
    case, support, agent, logged_in, smtp_server
):
    first = incoming(case)
    post_reply(logged_in(agent), case, support, first, case_status="pending")
    Case.objects.filter(pk=case.pk).update(status=Case.Status.PENDING)
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    note = Note.objects.get(parent_id=case.pk, type="email_sent")
    assert "outcome" not in note.data and "status" not in note.data


def test_the_status_set_by_a_reply_tells_webhooks_the_case_changed(
    case, support, agent, logged_in, smtp_server
):
    from webhooks.models import WebhookDelivery

    case_updated_endpoint()
    first = incoming(case)
    post_reply(logged_in(agent), case, support, first, case_status="pending")
    assert not WebhookDelivery.objects.exists()  # not before the email has left
    email_deliver(Email.objects.get(status=Email.Status.SENDING).pk)
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.event, delivery.payload["data"]["status"]) == ("case.updated", "pending")
