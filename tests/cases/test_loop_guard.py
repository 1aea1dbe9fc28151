"""The auto-reply loop guard, rule by rule, its rate limits and its log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.loop_guard import auto_reply_decide, auto_reply_refusal, references_our_message
from cases.models import AutoReplyLog, Case
from crm.addresses import addresses_get_or_create
from crm.models import User
from mailboxes.intake.parse import ParsedAddress, ParsedMessage
from mailboxes.linking.message_ids import message_id_new
from mailboxes.models import Email, PersonalEmailAccount
from tests.cases.eml import parse_file
from tests.cases.test_classify import SISIMAI_BSD
from tests.shared import CORPUS

CUSTOMER = "ayse@customer.example"


def message(**kwargs) -> ParsedMessage:
    defaults = {
        "message_id": "<q1@customer.example>",
        "subject": "Printer on floor 2 is broken",
        "sender": ParsedAddress(CUSTOMER, "Ayşe"),
        "body_text": "Hello, the printer does not print.",
    }
    defaults.update(kwargs)
    return ParsedMessage(**defaults)


@pytest.fixture
def account(make_account):
    return make_account(auto_reply=True)


def refusal(account, **kwargs):
    case = kwargs.pop("case", None)
    return auto_reply_refusal(message=message(**kwargs), account=account, case=case)


def test_ordinary_customer_mail_may_get_an_auto_reply(account):
    assert refusal(account) is None


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"auto-submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"auto-submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"auto-submitted": "auto-notified; owner=x"}, "Auto-Submitted: auto-notified"),
        ({"x-autoreply": "yes"}, "X-Autoreply"),
        ({"x-autorespond": "anything"}, "X-Autorespond"),
        ({"x-autoresponder": ""}, "X-Autoresponder"),
        ({"x-auto-response-suppress": "All"}, "all"),
        ({"x-auto-response-suppress": "DR, AutoReply"}, "autoreply"),
        ({"x-auto-response-suppress": "OOF"}, "oof"),
        ({"precedence": "bulk"}, "Precedence: bulk"),
        ({"precedence": "junk"}, "Precedence: junk"),
        ({"precedence": "list"}, "Precedence: list"),
        ({"precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"x-precedence": "bulk"}, "X-Precedence: bulk"),
        ({"list-id": "<users.lists.example>"}, "mailing list"),
        ({"list-unsubscribe": "<https://news.example/u>"}, "mailing list"),
        ({"return-path": "<>"}, "empty Return-Path"),
        ({"x-postaci-loop": "1"}, "X-Postaci-Loop"),
        ({"x-loop": "support@postaci.example"}, "X-Loop"),
    ],
)
def test_header_rules_refuse(account, headers, words):
    reason = refusal(account, headers=headers)
    assert reason is not None
    assert words in str(reason)


@pytest.mark.parametrize(
    "headers",
    [
        {"auto-submitted": "no"},
        {"x-auto-response-suppress": "DR, RN, NRN"},  # receipts only, replies welcome
        {"precedence": "first-class"},
        {"return-path": f"<{CUSTOMER}>"},
        {"x-loop": "helpdesk@elsewhere.example"},
    ],
)
def test_harmless_headers_do_not_refuse(account, headers):
    assert refusal(account, headers=headers) is None


@pytest.mark.parametrize(
    "part_types",
    [
        ["multipart/report", "text/plain", "message/delivery-status"],
        ["multipart/mixed", "text/plain", "message/delivery-status"],
        ["multipart/report", "text/plain", "message/disposition-notification"],
    ],
)
def test_delivery_reports_are_refused(account, part_types):
    reason = refusal(account, content_type=part_types[0], part_types=part_types)
    assert "report" in str(reason)


@pytest.mark.parametrize(
    "address",
    [
        "MAILER-DAEMON@mx.example.org",
        "mailer_daemon@mx.example.org",
        "postmaster@customer.example",
        "noreply@shop.example",
        "no-reply@shop.example",
        "no_reply@shop.example",
        "do-not-reply@shop.example",
        "donotreply@shop.example",
        "noreply-orders@shop.example",
        "bounces+123@lists.example",
    ],
)
def test_system_senders_are_refused(account, address):
    assert refusal(account, sender=ParsedAddress(address)) is not None


def test_no_sender_is_refused(account):
    assert "no sender" in str(refusal(account, sender=None))


def test_sender_is_one_of_our_mailboxes(account, make_account, agents):
    make_account(name="Sales", email_address="sales@postaci.example")
    PersonalEmailAccount.objects.create(
        name="Ali", email_address="ali.personal@postaci.example", owner=agents[0]
    )
    for ours in (
        "support@postaci.example",
        "SALES@postaci.example",
        "ali.personal@postaci.example",
    ):
        reason = refusal(account, sender=ParsedAddress(ours))
        assert "our own addresses" in str(reason), ours


def test_sender_is_the_system_address(account, settings):
    settings.DEFAULT_FROM_EMAIL = "Postaci <robot@postaci.example>"
    assert "our own addresses" in str(
        refusal(account, sender=ParsedAddress("robot@postaci.example"))
    )


def test_sender_is_another_accounts_auto_reply_from_address(make_account):
    account = make_account(auto_reply_from_address="help-desk@postaci.example")
    assert refusal(account, sender=ParsedAddress("help-desk@postaci.example")) is not None


def test_x_loop_naming_our_message_id_domain(account, settings):
    settings.POSTACI_MESSAGE_ID_DOMAIN = "mail.postaci.example"
    assert "X-Loop" in str(refusal(account, headers={"x-loop": "mail.postaci.example"}))


def test_reply_to_our_own_message_is_refused(account, settings):
    settings.POSTACI_MESSAGE_ID_DOMAIN = "mail.postaci.example"
    ours = message_id_new()
    assert refusal(account, references=["<a@customer.example>", ours]) is not None
    assert refusal(account, in_reply_to=ours) is not None
    assert refusal(account, message_id=ours) is not None
    assert refusal(account, references=["<a@mail.postaci.example.evil.example>"]) is None
    # our domain without our signature is a stranger's id
    assert refusal(account, references=["<case-7.0f3a@mail.postaci.example>"]) is None


def test_own_reference_check_is_one_function(settings):
    settings.POSTACI_MESSAGE_ID_DOMAIN = "mail.postaci.example"
    assert references_our_message([message_id_new().upper()])
    assert not references_our_message(["<x@customer.example>", "<y@mail.postaci.example>"])


# --- rate limits ------------------------------------------------------------------------------


def log_sent(account, count, *, sender=CUSTOMER, case=None, ago=timedelta(minutes=5)):
    for _ in range(count):
        AutoReplyLog.objects.create(
            account=account,
            sender_address=sender,
            case=case,
            outcome=AutoReplyLog.Outcome.SENT,
            created_at=timezone.now() - ago,
        )


def test_sender_rate_limit_refuses_the_sixth_auto_reply_in_two_hours(account):
    log_sent(account, 4)
    assert refusal(account) is None
    log_sent(account, 1)
    assert str(refusal(account)) == (
        "5 auto-replies to this sender in the last 2 hours; the limit is 5."
    )


def test_rate_limit_forgets_old_auto_replies(account):
    log_sent(account, 5, ago=timedelta(hours=2, minutes=1))
    assert refusal(account) is None


def test_refused_attempts_do_not_count(account):
    for _ in range(10):
        AutoReplyLog.objects.create(sender_address=CUSTOMER, outcome=AutoReplyLog.Outcome.REFUSED)
    assert refusal(account) is None


def test_new_group_account_takes_its_limits_from_the_environment(make_account, settings):
    settings.POSTACI_AUTO_REPLY_LIMIT = 2
    settings.POSTACI_AUTO_REPLY_CASE_LIMIT = 3
    settings.POSTACI_AUTO_REPLY_PERIOD = 600
    account = make_account(auto_reply=True)
    assert (
        account.auto_reply_sender_limit,
        account.auto_reply_case_limit,
        account.auto_reply_period_minutes,
    ) == (2, 3, 10)


def test_rate_limit_follows_the_group_accounts_own_limits(account, settings):
    settings.POSTACI_AUTO_REPLY_LIMIT = 50  # the environment no longer decides for the account
    account.auto_reply_sender_limit = 2
    account.auto_reply_period_minutes = 1
    account.save()
    log_sent(account, 2, ago=timedelta(seconds=30))
    reason = str(refusal(account))
    assert "2 auto-replies to this sender" in reason and "the limit is 2" in reason
    account.auto_reply_sender_limit = 3
    account.save()
    assert refusal(account) is None


def test_personal_account_mail_is_limited_by_the_environment(settings, db):
    settings.POSTACI_AUTO_REPLY_LIMIT = 1
    owner = User.objects.create_user("owner")
    personal = PersonalEmailAccount.objects.create(
        owner=owner, name="Mine", email_address="mine@example.test"
    )
    log_sent(None, 1)
    assert "the limit is 1" in str(refusal(personal))


def test_case_rate_limit_refuses_a_second_auto_reply_for_one_case(account):
    case = Case.objects.create(name="Printer")
    log_sent(account, 1, sender="someone.else@customer.example", case=case)
    reason = refusal(account, case=case)
    assert case.display_number in str(reason)
    assert refusal(account, case=Case.objects.create(name="Other")) is None


def test_rate_limits_cost_one_query(account, django_assert_num_queries):
    case = Case.objects.create(name="Printer")
    from cases import loop_guard

    with django_assert_num_queries(1):
        limits = loop_guard.RateLimits.of(account)
        assert loop_guard._rate_refusal(CUSTOMER, case, timezone.now(), limits) is None


# --- stored emails and the log ----------------------------------------------------------------


def stored_email(**fields) -> Email:
    address = addresses_get_or_create([CUSTOMER])[CUSTOMER]
    fields.setdefault("message_id", "<stored@customer.example>")
    return Email.objects.create(from_address=address, subject="Printer", **fields)


def test_guard_reads_a_stored_email(account):
    assert auto_reply_refusal(message=stored_email(), account=account) is None
    bounce = stored_email(message_id="<b@x>", auto_kind=Email.AutoKind.BOUNCE)
    assert "Bounce" in str(auto_reply_refusal(message=bounce, account=account))
    listed = stored_email(message_id="<l@x>", headers={"list-id": "<l.example>"})
    assert auto_reply_refusal(message=listed, account=account) is not None


def test_decisions_are_logged_and_shown_on_the_email(account):
    email = stored_email()
    first = auto_reply_decide(email=email, account=account)
    assert first.outcome == AutoReplyLog.Outcome.SENT
    assert first.sender_address == CUSTOMER
    ooo = stored_email(message_id="<o@x>", headers={"auto-submitted": "auto-replied"})
    refused = auto_reply_decide(email=ooo, account=account)
    assert refused.outcome == AutoReplyLog.Outcome.REFUSED
    assert "Auto-Submitted" in str(refused.reason)
    assert list(ooo.auto_reply_logs.all()) == [refused]


def test_five_sent_decisions_then_refusal(account):
    email = stored_email()
    outcomes = [auto_reply_decide(email=email, account=account).outcome for _ in range(6)]
    assert outcomes == ["sent"] * 5 + ["refused"]


# --- corpus -----------------------------------------------------------------------------------


def test_no_sisimai_message_gets_an_auto_reply(account):
    allowed = [
        path.name
        for path in SISIMAI_BSD
        if auto_reply_refusal(message=parse_file(path), account=account) is None
    ]
    assert allowed == []
    bug = parse_file(CORPUS / "sisimai" / "not" / "rb-issue-368-bug.eml")
    assert auto_reply_refusal(message=bug, account=account) is not None


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_person_mail_from_the_corpus_may_get_an_auto_reply(account, name):
    parsed = parse_file(CORPUS / "sisimai" / "not" / name)
    assert auto_reply_refusal(message=parsed, account=account) is None
