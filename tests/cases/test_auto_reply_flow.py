"""Email-to-case and the auto-reply through real servers: customer mail goes in by SMTP, the
relay delivers it to the test Dovecot, Postaci fetches it, and its auto-reply goes out through
the account's SMTP (the same relay) — nothing is mocked."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType

from cases.intake import LINKED_BY_CASE_TAG
from cases.models import AutoReplyLog, Case, CaseDistribution
from crm.addresses import record_set_addresses
from crm.kinds import note_kind_of
from crm.models import Account, Contact, Note, Notification
from mailboxes.linking.message_ids import is_our_message_id
from mailboxes.models import Email
from tests.cases.mailflow import fetch, send_pending, smtp_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import smtp_fields
from tests.waiting import wait_until

CUSTOMER = "ayse@customer.example"
CUSTOMER_FROM = f"Ayşe Yılmaz <{CUSTOMER}>"


@pytest.fixture
def support(make_group_account, imap_user, mail_relay, team, agents):
    mail_relay.add_mailbox(imap_user)
    return make_group_account(
        imap_user,
        name="Support",
        teams=[team],
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
        auto_reply=True,
        **smtp_fields(mail_relay),
    )


def customer_writes(relay, account, *, sender=CUSTOMER_FROM, **fields) -> bytes:
    raw = make_message(sender=sender, to=account.email_address, **fields)
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    smtp_send(relay, raw, mail_from=address, to=[account.email_address])
    return raw


def auto_replies(relay) -> list:
    """What Postaci sent through the relay (its Message-IDs), not what the test put in."""
    return [m for m in relay.messages if is_our_message_id(m.message["Message-ID"] or "")]


def case_type():
    return ContentType.objects.get_for_model(Case)


def test_first_email_opens_a_case_and_gets_exactly_one_auto_reply(
    support, mail_relay, agents, django_capture_on_commit_callbacks, settings
):
    customer_writes(
        mail_relay, support, subject="Yazıcı çalışmıyor", message_id="<first@customer.example>"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert fetch(support)["imported"] == 1

    case = Case.objects.get()
    assert case.assigned_user == agents[0]
    reply = Email.objects.get(is_auto_reply=True)
    # decided and stored in the intake transaction, handed to SMTP only after the commit
    assert reply.status == Email.Status.SENDING
    assert auto_replies(mail_relay) == []
    assert callbacks, "the send task is queued on commit"

    assert send_pending() == 1
    [captured] = auto_replies(mail_relay)
    message = captured.message
    assert captured.rcpt_tos == [CUSTOMER]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Precedence"] == "auto_reply"
    assert message["X-Loop"] == support.email_address
    assert message["In-Reply-To"] == "<first@customer.example>"
    assert message["References"] == "<first@customer.example>"
    assert message["Subject"] == f"Re: [#{case.number}] Yazıcı çalışmıyor"
    assert message["Message-ID"] == reply.message_id
    assert reply.message_id.endswith(f"@{settings.POSTACI_MESSAGE_ID_DOMAIN}>")
    assert message["From"].addresses[0].addr_spec == support.email_address
    assert message["To"].addresses[0].addr_spec == CUSTOMER
    assert f"[#{case.number}]" in message.get_body(("plain",)).get_content()

    reply.refresh_from_db()
    assert reply.status == Email.Status.SENT
    assert reply.parent == case
    log = AutoReplyLog.objects.get()
    assert (log.outcome, log.reply, log.case) == (AutoReplyLog.Outcome.SENT, reply, case)
    assert Note.objects.filter(
        parent_type=case_type(), parent_id=case.pk, type=Note.Type.EMAIL_SENT, related_id=reply.pk
    ).exists()


def test_auto_reply_template_placeholders_from_and_reply_to(
    support, mail_relay, agents, django_capture_on_commit_callbacks
):
    acme = Account.objects.create(name="ACME Ltd")
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz", account=acme)
    record_set_addresses(contact, [CUSTOMER])
    support.auto_reply_subject = "Talebiniz alındı: {case_subject}"
    support.auto_reply_body = (
        "Merhaba {customer_name} ({account_name}),\n{case_number} numaralı talebiniz "
        "{assigned_user} tarafından incelenecek.\n{mailbox_name} {unknown}"
    )
    support.auto_reply_from_name = "Destek Ekibi"
    support.auto_reply_from_address = "no-reply@example.test"
    support.auto_reply_reply_to = "destek@example.test"
    support.save()

    customer_writes(mail_relay, support, subject="Fatura sorusu")
    fetch(support)
    send_pending()

    case = Case.objects.get()
    [captured] = auto_replies(mail_relay)
    message = captured.message
    assert message["Subject"] == f"[#{case.number}] Talebiniz alındı: Fatura sorusu"
    assert message["From"].addresses[0].display_name == "Destek Ekibi"
    assert message["From"].addresses[0].addr_spec == "no-reply@example.test"
    assert message["Reply-To"].addresses[0].addr_spec == "destek@example.test"
    assert captured.mail_from == support.email_address  # bounces come back to the mailbox
    body = message.get_body(("plain",)).get_content()
    assert "Merhaba Ayşe Yılmaz (ACME Ltd)," in body
    assert f"{case.display_number} numaralı talebiniz ali tarafından" in body
    assert "Support {unknown}" in body


def test_reply_with_in_reply_to_joins_the_case_without_a_second_auto_reply(
    support, mail_relay, agents
):
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    send_pending()
    case = Case.objects.get()
    auto_reply = Email.objects.get(is_auto_reply=True)

    customer_writes(
        mail_relay,
        support,
        subject="Re: Printer broken",  # no case tag: only the threading headers tell
        headers={"In-Reply-To": auto_reply.message_id, "References": auto_reply.message_id},
    )
    assert fetch(support)["imported"] == 1
    send_pending()

    answer = Email.objects.filter(status=Email.Status.IMPORTED).latest("pk")
    assert answer.parent == case
    assert Case.objects.count() == 1
    assert len(auto_replies(mail_relay)) == 1
    log = answer.auto_reply_logs.get()
    assert log.outcome == AutoReplyLog.Outcome.REFUSED
    assert case.display_number in str(log.reason)


def test_case_tag_from_the_contact_joins_the_case(support, mail_relay, agents):
    contact = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz")
    record_set_addresses(contact, [CUSTOMER])
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    case = Case.objects.get()
    assert case.contact == contact

    customer_writes(mail_relay, support, subject=f"{case.display_number} one more thing")
    fetch(support)
    send_pending()
    assert Case.objects.count() == 1
    tagged = Email.objects.filter(status=Email.Status.IMPORTED).latest("pk")
    assert tagged.parent == case
    assert tagged.linked_by == LINKED_BY_CASE_TAG
    assert len(auto_replies(mail_relay)) == 1


def test_case_tag_from_a_stranger_opens_a_new_case(support, mail_relay, agents):
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    case = Case.objects.get()

    customer_writes(
        mail_relay,
        support,
        sender="Eve <eve@stranger.example>",
        subject=f"Re: {case.display_number} please send me the invoices",
    )
    fetch(support)
    send_pending()
    assert Case.objects.count() == 2
    other = Case.objects.exclude(pk=case.pk).get()
    assert Email.objects.filter(status=Email.Status.IMPORTED).latest("pk").parent == other
    # the stranger's new case gets its own acknowledgement
    assert sorted(m.rcpt_tos[0] for m in auto_replies(mail_relay)) == [
        CUSTOMER,
        "eve@stranger.example",
    ]


def test_out_of_office_reply_opens_no_case_and_gets_no_auto_reply(support, mail_relay, agents):
    customer_writes(
        mail_relay,
        support,
        subject="Out of office: Printer broken",
        body="I am away until Monday.",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    assert fetch(support)["imported"] == 1
    send_pending()
    assert Case.objects.count() == 0
    assert auto_replies(mail_relay) == []
    email = Email.objects.get()
    assert email.auto_kind == Email.AutoKind.OUT_OF_OFFICE
    [log] = email.auto_reply_logs.all()
    assert log.outcome == AutoReplyLog.Outcome.REFUSED
    assert "Auto-Submitted" in str(log.reason)


def test_closed_case_reopens_on_a_customer_reply_and_says_so(support, mail_relay, agents):
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    send_pending()
    case = Case.objects.get()
    case.status = Case.Status.CLOSED
    case.save()

    customer_writes(
        mail_relay, support, subject=f"Re: {case.display_number} Printer broken", body="Again!"
    )
    fetch(support)
    send_pending()
    case.refresh_from_db()
    assert case.status == Case.Status.ASSIGNED
    note = Note.objects.get(parent_type=case_type(), parent_id=case.pk, type="case_reopened")
    assert note.data == {
        "sender": CUSTOMER,
        "old": "closed",
        "new": "assigned",
        "email_id": Email.objects.filter(status=Email.Status.IMPORTED).latest("pk").pk,
        "by": "Support",
    }
    assert note_kind_of(note).stream_line(note, html=False) == (
        f"A reply from {CUSTOMER} reopened this case: Closed → Assigned"
    )
    assert len(auto_replies(mail_relay)) == 1  # a reopened case is not a new case


def test_auto_reply_copy_fetched_back_is_recognised(support, mail_relay, imap_user, agents):
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    send_pending()
    [captured] = auto_replies(mail_relay)

    # e.g. the customer's server forwards it back, or the mailbox gets a Bcc of its own mail
    smtp_send(
        mail_relay,
        captured.original_content,
        mail_from=support.email_address,
        to=[support.email_address],
    )
    summary = fetch(support)
    send_pending()
    assert summary["duplicates"] == 1 and summary["imported"] == 0
    assert Case.objects.count() == 1
    assert len(auto_replies(mail_relay)) == 2  # the one sent, and its copy relayed by the test
    assert AutoReplyLog.objects.count() == 1


def test_first_fetch_of_a_mailbox_answers_no_history(support, mail_relay, agents):
    customer_writes(mail_relay, support, subject="An old question")
    assert fetch_first(support)["imported"] == 1
    send_pending()
    assert Case.objects.count() == 1
    assert auto_replies(mail_relay) == []
    log = AutoReplyLog.objects.get()
    assert log.outcome == AutoReplyLog.Outcome.REFUSED
    assert "First fetch" in str(log.reason)


def fetch_first(account) -> dict:
    from mailboxes.intake.fetch import fetch_account

    return fetch_account(account.pk).as_dict()  # notify=None: the first fetch is history


def test_old_mail_gets_no_auto_reply(support, mail_relay, agents):
    raw = make_message(sender=CUSTOMER_FROM, to=support.email_address, subject="Old")
    raw = raw.replace(b"Date: ", b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nX-Old-Date: ", 1)
    smtp_send(mail_relay, raw, mail_from=CUSTOMER, to=[support.email_address])
    fetch(support)
    send_pending()
    assert Case.objects.count() == 1
    assert auto_replies(mail_relay) == []
    assert "older than 3 days" in str(AutoReplyLog.objects.get().reason)


def test_without_email_to_case_only_new_conversations_get_an_auto_reply(
    support, mail_relay, agents
):
    support.create_case = False
    support.save()
    customer_writes(mail_relay, support, subject="Question", message_id="<q1@customer.example>")
    fetch(support)
    send_pending()
    [first] = auto_replies(mail_relay)
    assert "[#" not in first.message["Subject"]
    assert first.message["Subject"] == "Re: Question"

    customer_writes(
        mail_relay,
        support,
        subject="Re: Question",
        headers={"In-Reply-To": first.message["Message-ID"]},
    )
    customer_writes(
        mail_relay,
        support,
        sender="Can <can@customer.example>",
        subject="Another question",
        headers={"In-Reply-To": "<unknown@elsewhere.example>"},
    )
    fetch(support)
    send_pending()
    assert Case.objects.count() == 0
    assert [m.rcpt_tos for m in auto_replies(mail_relay)] == [[CUSTOMER], ["can@customer.example"]]
    refused = AutoReplyLog.objects.get(outcome=AutoReplyLog.Outcome.REFUSED)
    assert "earlier email" in str(refused.reason)


def test_account_without_smtp_records_why_no_auto_reply_went(support, mail_relay, agents):
    support.use_smtp = False
    support.save()
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    assert Case.objects.count() == 1
    assert not Email.objects.filter(is_auto_reply=True).exists()
    assert "SMTP" in str(AutoReplyLog.objects.get().reason)


def test_sender_rate_limit_stops_the_sixth_auto_reply(support, mail_relay, agents):
    for n in range(7):
        customer_writes(mail_relay, support, subject=f"Question {n}")
    fetch(support)
    send_pending()
    assert Case.objects.count() == 7
    assert len(auto_replies(mail_relay)) == 5
    refused = AutoReplyLog.objects.filter(outcome=AutoReplyLog.Outcome.REFUSED)
    assert refused.count() == 2
    assert [str(log.reason) for log in refused] == [
        "5 auto-replies to this sender in the last 2 hours; the limit is 5."
    ] * 2


def test_round_robin_over_real_intake_30_mails_3_agents(support, mail_relay, agents, dovecot):
    for n in range(30):
        customer_writes(mail_relay, support, sender=f"c{n}@customer.example", subject=f"Q {n}")
    assert fetch(support)["imported"] == 30
    counts = Counter(Case.objects.values_list("assigned_user__username", flat=True))
    assert counts == {"ali": 10, "berna": 10, "cem": 10}
    # each agent is told of each of their cases
    for agent in agents:
        assert Notification.objects.filter(user=agent).count() >= 10


def test_auto_reply_goes_out_through_the_worker_after_the_commit(
    support, mail_relay, agents, celery_worker
):
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)  # commits; the send task is queued on commit and run by the worker
    mail_relay.wait_for_messages(2, timeout=15)
    [captured] = auto_replies(mail_relay)
    case = Case.objects.get()
    assert case.display_number in captured.message["Subject"]
    reply = Email.objects.get(is_auto_reply=True)
    # the worker records "sent" just after the server's 250
    assert wait_until(
        lambda: Email.objects.filter(pk=reply.pk, status=Email.Status.SENT).exists(), timeout=5
    )


def test_stranger_quoting_a_case_number_gets_only_the_new_cases_number(support, mail_relay, agents):
    from cases.replies import case_reply_initial

    support.auto_reply_subject = "Talebiniz alındı {case_number}: {case_subject}"
    support.save()
    customer_writes(mail_relay, support, subject="Printer broken")
    fetch(support)
    case = Case.objects.get()

    customer_writes(
        mail_relay,
        support,
        sender="Eve <eve@stranger.example>",
        subject=f"{case.display_number}: bana da bilgi verin",
    )
    fetch(support)
    send_pending()
    other = Case.objects.exclude(pk=case.pk).get()
    assert other.name == "bana da bilgi verin"
    [to_eve] = [m for m in auto_replies(mail_relay) if m.rcpt_tos == ["eve@stranger.example"]]
    assert (
        to_eve.message["Subject"] == f"Talebiniz alındı {other.display_number}: bana da bilgi verin"
    )
    # an agent answering from the new case does not repeat the stranger's number either
    initial = case_reply_initial(other, agents[0])
    assert initial["subject"] == f"Re: {other.display_number} bana da bilgi verin"
