"""The case page: Reply box, Reply on each email, the sent email in the stream, the auto-reply
decisions; the case list's badges."""

from __future__ import annotations

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import translation

from cases.models import AutoReplyLog, Case
from crm.addresses import addresses_get_or_create, record_set_addresses
from crm.models import Contact, Note, Notification, Role
from crm.stream import record_follow
from mailboxes.models import Email, EmailUser
from mailboxes.sending.delivery import email_deliver
from tests.cases.conftest import join, make_user
from tests.mailboxes.sending.conftest import role, smtp_fields

CUSTOMER = "ayse@customer.example"


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
    case = Case.objects.create(
        name="Printer broken", group_account=support, contact=contact, assigned_user=agent
    )
    return case


def incoming(case, *, sender=CUSTOMER, subject="Printer broken", message_id="<m1@customer>"):
    rows = addresses_get_or_create([sender])
    email = Email.objects.create(
        message_id=message_id,
        subject=subject,
        from_address=rows[sender],
        from_name="Ayşe Yılmaz",
        body_text="It prints blank pages.",
        parent_type=ContentType.objects.get_for_model(Case),
        parent_id=case.pk,
    )
    EmailUser.objects.create(email=email, user=case.assigned_user)
    return email


def test_case_page_has_a_reply_box_with_the_case_defaults(case, support, agent, logged_in):
    incoming(case)
    html = logged_in(agent).get(case.get_absolute_url()).content.decode()
    box = html[html.index('id="reply-box"') :]
    assert re.search(rf'<option value="{support.pk}" selected', box)
    assert "Ayşe Yılmaz &lt;ayse@customer.example&gt;" in box
    assert f"Re: [#{case.number}] Printer broken" in box
    assert 'name="parent_type" value="cases.case"' in box
    assert f'name="parent_id" value="{case.pk}"' in box
    assert f'name="next" value="{case.get_absolute_url()}"' in box
    assert f"Answers go to Destek &lt;{support.email_address}&gt;." in box


def test_reply_on_an_email_of_the_case_prefills_the_box(case, agent, logged_in):
    first = incoming(case)
    other = incoming(
        case, sender="mehmet@customer.example", subject="Also me", message_id="<m2@customer>"
    )
    client = logged_in(agent)
    html = client.get(case.get_absolute_url()).content.decode()
    assert f'href="?reply={first.pk}#reply-box"' in html
    assert f'href="?reply={other.pk}#reply-box"' in html

    html = client.get(f"{case.get_absolute_url()}?reply={other.pk}").content.decode()
    box = html[html.index('id="reply-box"') :]
    assert "mehmet@customer.example" in box
    assert f"Re: [#{case.number}] Also me" in box
    assert f'name="replied" value="{other.pk}"' in box
    assert "Replying to “Also me”" in html


def test_reply_to_an_email_outside_the_case_is_ignored(case, agent, logged_in):
    incoming(case)
    stray = Email.objects.create(message_id="<stray@x>", subject="Not this case")
    html = logged_in(agent).get(f"{case.get_absolute_url()}?reply={stray.pk}").content.decode()
    assert "Not this case" not in html
    assert f"Re: [#{case.number}] Printer broken" in html


def test_reply_sent_from_the_case_shows_in_the_stream_and_followers_are_told(
    case, support, agent, team, logged_in, smtp_server
):
    first = incoming(case)
    colleague = join(team, make_user("colleague"))
    # Followers hear of a case's email only when their role lets them read it.
    colleague.roles.add(Role.objects.create(name="Support desk", email_access="team"))
    record_follow(case, colleague)
    client = logged_in(agent)
    response = client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": f"Ayşe Yılmaz <{CUSTOMER}>",
            "subject": f"Re: [#{case.number}] Printer broken",
            "body": "Please restart it.",
            "parent_type": "cases.case",
            "parent_id": case.pk,
            "replied": first.pk,
            "next": case.get_absolute_url(),
            "action": "send",
        },
    )
    assert response["Location"] == case.get_absolute_url()
    reply = Email.objects.get(status=Email.Status.SENDING)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Sending…" in page  # listed with the case's emails at once

    email_deliver(reply.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["Reply-To"].addresses[0].addr_spec == support.email_address
    note = Note.objects.get(type=Note.Type.EMAIL_SENT, related_id=reply.pk)
    assert note.parent == case and note.author == agent
    assert Notification.objects.filter(user=colleague, note=note).exists()
    assert not Notification.objects.filter(user=agent, note=note).exists()
    page = client.get(case.get_absolute_url()).content.decode()
    stream = page[page.index('id="stream-panel"') :]
    assert f"<strong>{agent}</strong> sent an email" in stream and "Re: [#" in stream


def test_case_page_shows_the_auto_reply_decisions(case, support, agent, logged_in):
    first = incoming(case)
    second = incoming(case, subject="Re: Printer broken", message_id="<m2@customer>")
    AutoReplyLog.objects.create(
        email=first, account=support, case=case, sender_address=CUSTOMER, outcome="sent"
    )
    AutoReplyLog.objects.create(
        email=second,
        account=support,
        case=case,
        sender_address=CUSTOMER,
        outcome="refused",
        reason="The email joins case [#1]; auto-replies answer new cases only.",
    )
    html = logged_in(agent).get(case.get_absolute_url()).content.decode()
    panel = html[html.index('data-testid="auto-reply-log"') :]
    assert "Auto-reply sent" in panel and f"to {CUSTOMER}" in panel
    assert "No auto-reply" in panel and "auto-replies answer new cases only" in panel
    assert panel.index("Auto-reply sent") < panel.index("No auto-reply")  # first email first


def test_agent_without_email_access_sees_the_case_but_not_its_emails(case, team, logged_in):
    incoming(case, subject="Secret subject")
    reader = join(team, make_user("reader"))
    reader.roles.add(Role.objects.create(name="cases only", case_access="all", email_access="no"))
    response = logged_in(reader).get(case.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Secret subject" not in html
    assert "You have no address to send from." in html


def test_case_list_shows_status_and_priority_badges(case, agent, logged_in):
    case.status, case.priority = Case.Status.PENDING, Case.Priority.URGENT
    case.save()
    html = logged_in(agent).get(reverse("cases:case-list")).content.decode()
    assert '<span class="badge badge-pending">Pending</span>' in html
    assert '<span class="badge badge-urgent">Urgent</span>' in html


def test_case_page_in_turkish(case, support, agent, logged_in):
    first = incoming(case)
    AutoReplyLog.objects.create(
        email=first,
        account=support,
        case=case,
        sender_address=CUSTOMER,
        outcome="refused",
        reason="x",
    )
    agent.language = "tr"
    agent.save()
    html = logged_in(agent).get(f"{case.get_absolute_url()}?reply={first.pk}").content.decode()
    assert "Otomatik yanıt yok" in html
    assert "Bunun yerine vakayı yanıtla" in html
    assert "Normal" in html and "Yanıtla" in html
