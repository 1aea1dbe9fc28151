"""Pipeline step 9 on stored rows: join the thread's case or open one.

The IMAP → case integration tests come with the intake engine; these run the step on the
context the earlier steps leave behind (a stored Email, its parse and classification).
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from cases.intake import LINKED_BY_CASE_TAG, email_to_case, visible_reply_text
from cases.models import Case
from crm.addresses import addresses_get_or_create, record_set_addresses
from crm.models import Account, Contact, Lead, Note
from mailboxes.intake.classify import classify
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import ParsedAddress, ParsedMessage
from mailboxes.models import Email, EmailUser, PersonalEmailAccount
from tests.cases.conftest import make_user
from tests.cases.eml import parse_file
from tests.cases.test_classify import SISIMAI_BSD
from tests.shared import CORPUS

CUSTOMER = "ayse@acme.example"
BODY = (
    "The printer on floor 2 prints blank pages.\n\n"
    "On Mon, Jan 1, 2024 at 10:00 AM Support <support@postaci.example> wrote:\n"
    "> How can we help?\n"
)


@pytest.fixture
def account(make_account):
    return make_account()


@pytest.fixture
def contact(db):
    acme = Account.objects.create(name="ACME")
    person = Contact.objects.create(first_name="Ayşe", last_name="Yılmaz", account=acme)
    record_set_addresses(person, [CUSTOMER])
    return person


_ids = iter(range(1, 10**6))


def context(
    account, parsed: ParsedMessage | None = None, *, parent=None, new=True, **message_fields
):
    if parsed is None:
        message_fields.setdefault("message_id", f"<m{next(_ids)}@acme.example>")
        message_fields.setdefault("subject", "Printer broken")
        message_fields.setdefault("sender", ParsedAddress(CUSTOMER, "Ayşe"))
        message_fields.setdefault("body_text", BODY)
        parsed = ParsedMessage(**message_fields)
    classification = classify(parsed)
    sender = parsed.sender.address if parsed.sender and parsed.sender.address else ""
    from_address = addresses_get_or_create([sender]).get(sender)
    email = Email.objects.create(
        message_id=f"<row-{next(_ids)}@test.example>",  # corpus files share ids
        subject=parsed.subject[:998],
        from_address=from_address,
        body_text=parsed.body_text,
        headers=parsed.headers,
        auto_kind=classification.kind,
        parent_type=ContentType.objects.get_for_model(parent) if parent else None,
        parent_id=parent.pk if parent else None,
    )
    return IntakeContext(
        run=FetchRun(account=account),
        folder="INBOX",
        raw=None,
        parsed=parsed,
        classification=classification,
        email=email,
        is_new_email=new,
    )


def test_first_email_opens_an_assigned_case(account, contact, agents, team):
    ctx = email_to_case(context(account))
    case = ctx.case
    assert ctx.case_created
    assert case.name == "Printer broken"
    assert case.description == "The printer on floor 2 prints blank pages."
    assert case.contact == contact
    assert case.account == contact.account
    assert case.lead is None
    assert case.group_account == account
    assert list(case.teams.all()) == [team]
    assert case.assigned_user == agents[0]
    assert case.status == Case.Status.ASSIGNED
    ctx.email.refresh_from_db()
    assert ctx.email.parent == case
    assert EmailUser.objects.filter(email=ctx.email, user=agents[0]).exists()
    assert list(ctx.email.teams.all()) == [team]
    opened = Note.objects.get(parent_id=case.pk, type="case_opened")
    assert opened.data["by"] == account.name


def test_unknown_sender_with_a_lead_gets_the_lead(account, agents):
    lead = Lead.objects.create(last_name="Demir")
    record_set_addresses(lead, ["lead@prospect.example"])
    ctx = email_to_case(context(account, sender=ParsedAddress("lead@prospect.example")))
    assert ctx.case.lead == lead
    assert ctx.case.contact is None


def test_reply_already_linked_to_a_case_joins_it(account, contact, agents, team):
    first = email_to_case(context(account)).case
    ctx = email_to_case(context(account, parent=first, subject="Re: Printer broken"))
    assert ctx.case == first
    assert not ctx.case_created
    assert Case.objects.count() == 1
    assert EmailUser.objects.filter(email=ctx.email, user=first.assigned_user).exists()
    assert ctx.new_user_ids == {first.assigned_user_id}
    assert list(ctx.email.teams.all()) == [team]


def test_case_tag_from_the_contact_joins_the_case(account, contact, agents):
    first = email_to_case(context(account)).case
    ctx = email_to_case(context(account, subject=f"Re: {first.display_number} Printer"))
    assert ctx.case == first
    ctx.email.refresh_from_db()
    assert ctx.email.parent == first
    assert ctx.email.linked_by == LINKED_BY_CASE_TAG
    assert Case.objects.count() == 1


def test_case_tag_from_a_stranger_opens_a_new_case(account, contact, agents):
    first = email_to_case(context(account)).case
    ctx = email_to_case(
        context(
            account,
            subject=f"{first.display_number} give me access",
            sender=ParsedAddress("eve@evil.example"),
        )
    )
    assert ctx.case_created
    assert ctx.case != first
    assert Case.objects.count() == 2


def test_out_of_office_reply_opens_no_case(account, agents):
    ctx = email_to_case(
        context(
            account, subject="Out of Office: Printer", headers={"auto-submitted": "auto-replied"}
        )
    )
    assert ctx.case is None
    assert not Case.objects.exists()
    assert Email.objects.filter(pk=ctx.email.pk, auto_kind=Email.AutoKind.OUT_OF_OFFICE).exists()


def test_bounce_linked_to_a_case_stays_there_and_reopens_nothing(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    ctx = email_to_case(
        context(
            account,
            parent=case,
            subject="Undelivered Mail Returned to Sender",
            sender=ParsedAddress("mailer-daemon@mx.acme.example"),
        )
    )
    assert ctx.case == case
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


@pytest.mark.parametrize("status", [Case.Status.CLOSED, Case.Status.PENDING])
def test_customer_reply_reopens_a_case(account, contact, agents, status):
    case = email_to_case(context(account)).case
    Case.objects.filter(pk=case.pk).update(status=status)
    email_to_case(context(account, parent=case, subject="Re: Printer broken"))
    case.refresh_from_db()
    assert case.status == Case.Status.ASSIGNED
    note = Note.objects.get(parent_id=case.pk, type="case_reopened")
    assert (note.data["sender"], note.data["old"], note.data["new"]) == (
        CUSTOMER,
        status,
        Case.Status.ASSIGNED,
    )


def test_reply_to_an_unassigned_closed_case_makes_it_new(account, contact):
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED, contact=contact)
    email_to_case(context(account, parent=case))
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_reopen_can_be_turned_off_per_account(make_account, contact, agents):
    account = make_account(reopen_case_on_reply=False)
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    email_to_case(context(account, parent=case))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_agent_reply_does_not_reopen(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.PENDING)
    email_to_case(context(account, parent=case, sender=ParsedAddress(agents[1].email)))
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING


def test_duplicate_email_does_not_reopen(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    email_to_case(context(account, parent=case, new=False))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_account_without_create_case_opens_nothing(make_account, agents):
    ctx = email_to_case(context(make_account(create_case=False)))
    assert ctx.case is None
    assert not Case.objects.exists()


def test_personal_account_opens_nothing(agents):
    personal = PersonalEmailAccount.objects.create(
        name="Ali", email_address="ali@postaci.example", owner=agents[0]
    )
    ctx = email_to_case(context(personal))
    assert ctx.case is None


def test_no_sisimai_message_opens_a_case(account, agents):
    for path in SISIMAI_BSD:
        email_to_case(context(account, parse_file(path)))
    assert not Case.objects.exists()
    email_to_case(context(account, parse_file(CORPUS / "sisimai/not/rb-issue-368-bug.eml")))
    assert not Case.objects.exists()


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_person_mail_from_the_corpus_opens_a_case(account, agents, name):
    ctx = email_to_case(context(account, parse_file(CORPUS / "sisimai" / "not" / name)))
    assert ctx.case_created


def test_visible_reply_text_keeps_only_the_new_text():
    assert visible_reply_text(BODY) == "The printer on floor 2 prints blank pages."
    assert visible_reply_text("  \n ") == ""
    assert visible_reply_text("Just one line") == "Just one line"


def test_case_from_an_agents_address_is_still_opened(account, agents):
    """An agent forwarding a customer's mail to the group mailbox opens a case."""
    user = make_user("forwarder", email="fwd@postaci.example")
    ctx = email_to_case(context(account, sender=ParsedAddress(user.email)))
    assert ctx.case_created


def test_reply_referencing_an_email_of_a_case_joins_it_even_from_a_stranger(account, agents):
    """A Message-ID is unguessable, unlike a case number: naming one of the case's emails in
    References (a forwarded thread, a colleague answering in Cc) joins the case."""
    first = email_to_case(context(account))
    stranger = context(account, sender=ParsedAddress("colleague@acme-partner.example"))
    stranger.email.references = f"{first.email.message_id} <unknown@elsewhere>"
    stranger.email.save()
    ctx = email_to_case(stranger)
    assert ctx.case == first.case and not ctx.case_created
    ctx.email.refresh_from_db()
    assert ctx.email.parent == first.case
    assert ctx.email.linked_by == Email.LinkedBy.REPLY
