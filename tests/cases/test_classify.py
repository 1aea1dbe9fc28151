"""Step 4 classifier: the whole sisimai corpus, the person-written files, single rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation

from mailboxes.intake.classify import (
    BODY_SCAN_CHARS,
    Classification,
    classify,
    classify_step,
    classify_stored,
    is_automatic,
    no_reply_sender,
)
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import ParsedAddress, ParsedMessage
from mailboxes.models import Email
from tests.cases.eml import parse_file
from tests.shared import CORPUS

Kind = Email.AutoKind
SISIMAI_BSD = sorted((CORPUS / "sisimai" / "bsd").glob("*.eml"))
STALWART = sorted((CORPUS / "stalwart").glob("*/*.eml"))

# Files whose kind differs from what their name prefix says.
KIND_EXCEPTIONS = {
    "arf-26.eml": Kind.AUTO_REPLY,  # Apple Mail's automatic "unsubscribe" message
    "lhost-amazonses-11.eml": Kind.FEEDBACK,  # SES complaint notification
    "lhost-amazonses-12.eml": Kind.AUTO_REPLY,  # SES *delivery* (success) notification
    "lhost-amazonses-13.eml": Kind.AUTO_REPLY,
}


def expected_kinds(path: Path) -> set[str]:
    if path.name in KIND_EXCEPTIONS:
        return {KIND_EXCEPTIONS[path.name]}
    if path.name.startswith("arf-"):
        return {Kind.FEEDBACK}
    if path.name.startswith("rfc3834-"):
        return {Kind.AUTO_REPLY, Kind.OUT_OF_OFFICE}
    return {Kind.BOUNCE}


def message(**kwargs) -> ParsedMessage:
    defaults = {
        "message_id": "<m1@customer.example>",
        "subject": "Printer on floor 2 is broken",
        "sender": ParsedAddress("ayse@customer.example", "Ayşe Yılmaz"),
        "body_text": "Hello, the printer does not print since this morning.\nThanks",
    }
    defaults.update(kwargs)
    return ParsedMessage(**defaults)


def test_corpus_has_every_sisimai_file():
    assert len(SISIMAI_BSD) == 629


@pytest.mark.parametrize("path", SISIMAI_BSD, ids=lambda p: p.name)
def test_sisimai_machine_mail_is_automatic(path):
    result = classify(parse_file(path))
    assert result.is_auto_submitted, f"{path.name} not flagged"
    assert result.kind in expected_kinds(path), (path.name, result.kind, str(result))
    assert result.reasons


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_sisimai_person_mail_is_not_flagged(name):
    result = classify(parse_file(CORPUS / "sisimai" / "not" / name))
    assert result == Classification()
    assert not result.is_auto_submitted


def test_attached_original_message_does_not_look_like_a_bounce():
    parsed = parse_file(CORPUS / "sisimai" / "not" / "is-not-bounce-02.eml")
    assert "message/rfc822" in parsed.part_types
    assert classify(parsed).kind == ""


def test_rb_issue_368_postmaster_notice_is_a_bounce():
    result = classify(parse_file(CORPUS / "sisimai" / "not" / "rb-issue-368-bug.eml"))
    assert result.kind == Kind.BOUNCE


# stalwart's MIME samples are person-style messages; the one flagged is real list mail.
STALWART_FLAGGED = {"thirdparty/014.eml": Kind.LIST}  # List-Id + Precedence: list


@pytest.mark.parametrize("path", STALWART, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stalwart_ordinary_mail_is_not_flagged(path):
    key = f"{path.parent.name}/{path.name}"
    assert classify(parse_file(path)).kind == STALWART_FLAGGED.get(key, "")


def test_huge_body_is_read_only_at_its_head():
    sender = ParsedAddress("noreply@shop.example")
    tail = "user unknown " * 100_000
    assert classify(message(sender=sender, body_text=tail)).kind == Kind.BOUNCE
    # The same bounce wording past the scanned head is never read.
    assert classify(message(sender=sender, body_text="x" * BODY_SCAN_CHARS + tail)).kind == ""


# --- single rules -----------------------------------------------------------------------------


def test_person_mail_is_not_flagged():
    assert classify(message()).kind == ""


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"auto-submitted": "auto-replied"}, Kind.AUTO_REPLY),
        ({"auto-submitted": "auto-generated; owner-email=x@y"}, Kind.AUTO_REPLY),
        ({"x-autoreply": "yes"}, Kind.AUTO_REPLY),
        ({"x-autorespond": "Vacation"}, Kind.AUTO_REPLY),
        ({"x-autoresponder": "1"}, Kind.AUTO_REPLY),
        ({"precedence": "bulk"}, Kind.BULK),
        ({"precedence": "junk"}, Kind.BULK),
        ({"precedence": "list"}, Kind.LIST),
        ({"x-precedence": "auto_reply"}, Kind.AUTO_REPLY),
        ({"list-id": "<users.lists.example>"}, Kind.LIST),
        ({"list-unsubscribe": "<mailto:leave@news.example>"}, Kind.BULK),
        ({"x-failed-recipients": "ghost@example.org"}, Kind.BOUNCE),
        ({"return-path": "<>"}, Kind.BOUNCE),
        ({"x-loop": "yes"}, Kind.AUTO_REPLY),
        ({"x-postaci-loop": "1"}, Kind.OWN),
    ],
)
def test_header_rule_flags_message(headers, kind):
    result = classify(message(headers=headers))
    assert result.kind == kind
    assert result.is_auto_submitted


@pytest.mark.parametrize(
    "headers",
    [
        {"auto-submitted": "no"},
        {"x-autoreply": "no"},
        {"precedence": "first-class"},
        {"return-path": "<ayse@customer.example>"},
        # suppressing auto-replies is the loop guard's business; the mail is still a person's
        {"x-auto-response-suppress": "All"},
    ],
)
def test_harmless_header_values_do_not_flag(headers):
    assert classify(message(headers=headers)).kind == ""


def test_out_of_office_recognised_from_subject_with_auto_submitted():
    parsed = message(subject="Out of Office: Printer", headers={"auto-submitted": "auto-replied"})
    assert classify(parsed).kind == Kind.OUT_OF_OFFICE


def test_empty_return_path_with_auto_reply_subject_is_an_auto_reply():
    parsed = message(subject="Automatic reply: Printer", headers={"return-path": "<>"})
    assert classify(parsed).kind == Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Printer", "Auto-Reply: hello", "Otomatik yanıt: Yazıcı"],
)
def test_auto_reply_subjects_flag(subject):
    assert classify(message(subject=subject)).is_auto_submitted


@pytest.mark.parametrize(
    "subject",
    [
        "Out of office hours support request",
        "Delivery problem with order 1234",
        "Returned item refund",
        "Undelivered package",
        "Error on the checkout page",
    ],
)
def test_customer_subjects_that_sound_automatic_do_not_flag(subject):
    assert classify(message(subject=subject)).kind == ""


def test_customer_describing_a_bounce_still_opens_a_case():
    parsed = message(
        subject="My mail could not be delivered",
        body_text="Hi, my email to your sales team could not be delivered: user unknown.",
    )
    assert classify(parsed).kind == ""


def test_web_form_from_noreply_with_customer_reply_to_is_a_person():
    parsed = message(
        sender=ParsedAddress("noreply@company.example"),
        reply_to=[ParsedAddress("ayse@customer.example")],
        subject="Delivery problem",
        body_text="Form message: my parcel could not be delivered.",
    )
    assert classify(parsed).kind == ""


def test_system_sender_with_bounce_wording_is_a_bounce():
    parsed = message(
        sender=ParsedAddress("no-reply@mail.example"),
        subject="Notice",
        body_text="Your message could not be delivered to kim@example.org.",
    )
    result = classify(parsed)
    assert result.kind == Kind.BOUNCE
    assert len(result.reasons) == 2


@pytest.mark.parametrize(
    "sender",
    [
        ParsedAddress("mailer-daemon@mx.example.org"),
        ParsedAddress("MAILER_DAEMON@mx.example.org"),
        ParsedAddress("post_master@vtext.example.com"),
        ParsedAddress("", "MAILER-DAEMON"),
        ParsedAddress("system@mx.example.org", "Mail Delivery Subsystem"),
    ],
    ids=str,
)
def test_mail_system_senders_are_bounces(sender):
    assert classify(message(sender=sender)).kind == Kind.BOUNCE


@pytest.mark.parametrize(
    ("part_types", "kind"),
    [
        (["multipart/report", "text/plain", "message/delivery-status"], Kind.BOUNCE),
        (["multipart/mixed", "text/plain", "message/delivery-status"], Kind.BOUNCE),
        (["multipart/report", "text/plain", "message/feedback-report"], Kind.FEEDBACK),
        (["multipart/report", "text/plain", "message/disposition-notification"], Kind.AUTO_REPLY),
    ],
)
def test_report_structures_flag(part_types, kind):
    parsed = message(content_type=part_types[0], part_types=part_types)
    assert classify(parsed).kind == kind


@override_settings(POSTACI_MESSAGE_ID_DOMAIN="mail.postaci.example")
def test_our_own_message_id_is_own_mail():
    from mailboxes.linking.message_ids import message_id_new

    assert classify(message(message_id=message_id_new())).kind == Kind.OWN
    # our domain alone, without our signature, is anybody's
    assert classify(message(message_id="<case-1.abc@mail.postaci.example>")).kind != Kind.OWN


def test_ses_json_notification_in_html_only_body():
    parsed = message(
        sender=ParsedAddress("no-reply@sns.amazonaws.com"),
        body_text="",
        body_html='<pre>{"notificationType":"Bounce","bounce":{}}</pre>',
    )
    assert classify(parsed).kind == Kind.BOUNCE


def test_classify_step_sets_context_classification():
    ctx = IntakeContext(run=FetchRun(account=None), folder="INBOX", raw=None)
    ctx.parsed = message(headers={"auto-submitted": "auto-replied"})
    ctx = classify_step(ctx)
    assert ctx.classification.kind == Kind.AUTO_REPLY
    assert "Auto-Submitted: auto-replied" in str(ctx.classification)


# --- one decision: the markers and signs the loop guard reads ---------------------------------


def test_auto_reply_marker_saying_no_opens_a_case_but_forbids_an_auto_reply():
    result = classify(message(headers={"x-autoreply": "no"}))
    assert result.kind == ""
    assert [m.code for m in result.declared] == ["cases.guard.auto_reply_header"]


def test_precedence_bulk_after_another_word_is_a_sign_not_a_verdict():
    result = classify(message(headers={"precedence": "normal, bulk"}))
    assert result.kind == ""
    assert str(result.signs[0]) == "The message is bulk or list mail (Precedence: bulk)."


def test_web_form_noreply_sender_opens_a_case_but_takes_no_replies():
    parsed = message(
        sender=ParsedAddress("noreply@company.example"),
        reply_to=[ParsedAddress("ayse@customer.example")],
    )
    assert classify(parsed).kind == ""
    assert no_reply_sender("noreply@company.example") is not None
    assert no_reply_sender("ayse@customer.example") is None


def test_reasons_are_codes_read_in_the_readers_language():
    result = classify(message(headers={"x-autoresponder": "yes"}))
    assert [m.code for m in result.reasons] == ["mail.auto.auto_reply_header"]
    with translation.override("tr"):
        assert str(result) == "X-Autoresponder başlığı"


def test_stored_email_keeps_its_verdict_and_reads_its_headers_again():
    email = Email(auto_kind=Kind.BOUNCE, headers={"list-id": "<l.example>"})
    result = classify_stored(email)
    assert result.kind == Kind.BOUNCE
    assert [m.code for m in result.signs] == ["cases.guard.mailing_list"]


def test_is_automatic_falls_back_to_the_stored_verdict():
    ctx = IntakeContext(run=FetchRun(account=None), folder="INBOX", raw=None)
    ctx.email = Email(auto_kind=Kind.OUT_OF_OFFICE)
    assert is_automatic(ctx)
    ctx.classification = classify(message())
    assert not is_automatic(ctx)
