"""Email-to-case on stored rows: step 7 (linking, with the cases app's rule: the thread's
case) and step 9 (join the case or open one).

The IMAP → case integration tests come with the intake engine; these run the two steps on the
context the earlier steps leave behind (a stored Email, its parse and classification).
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases.intake import LINKED_BY_CASE_TAG, email_to_case, visible_reply_text
from cases.models import Case
from crm import bulk
from crm.addresses import addresses_get_or_create, record_set_addresses
from crm.models import Account, Contact, Lead, Note, Team
from mailboxes.intake.classify import classify
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.link import link_batch
from mailboxes.intake.parse import ParsedAddress, ParsedMessage
from mailboxes.intake.recipients import active_user_ids_by_address
from mailboxes.intake.store import account_team_ids
from mailboxes.models import Email, EmailUser, PersonalEmailAccount
from tests.cases.conftest import case_updated_endpoint, make_user, run_workers
from tests.cases.eml import parse_file
from tests.cases.test_classify import SISIMAI_BSD
from tests.cases.test_distribution import postgresql_only
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
    """A message as steps 1-6 leave it. With ``parent``, it answers an earlier email on that
    record (a duplicate: it is on that record itself)."""
    if parent is not None and new:
        earlier = Email.objects.create(
            message_id=f"<earlier-{next(_ids)}@postaci.example>",
            subject="Printer broken",
            parent_type=ContentType.objects.get_for_model(parent),
            parent_id=parent.pk,
        )
        message_fields.setdefault("in_reply_to", earlier.message_id)
    if parsed is None:
        message_fields.setdefault("message_id", f"<m{next(_ids)}@acme.example>")
        message_fields.setdefault("subject", "Printer broken")
        message_fields.setdefault("sender", ParsedAddress(CUSTOMER, "Ayşe"))
        message_fields.setdefault("body_text", BODY)
        parsed = ParsedMessage(**message_fields)
    classification = classify(parsed)
    sender = parsed.sender.address if parsed.sender and parsed.sender.address else ""
    from_address = addresses_get_or_create([sender]).get(sender)
    stored_parent = parent if not new else None
    email = Email.objects.create(
        message_id=f"<row-{next(_ids)}@test.example>",  # corpus files share ids
        subject=parsed.subject[:998],
        from_address=from_address,
        body_text=parsed.body_text,
        headers=parsed.headers,
        auto_kind=classification.kind,
        parent_type=ContentType.objects.get_for_model(stored_parent) if stored_parent else None,
        parent_id=stored_parent.pk if stored_parent else None,
    )
    run = FetchRun(account=account)
    if new:  # step 6 gives a new email the teams of its mailbox
        email.teams.add(*account_team_ids(run))
    return IntakeContext(
        run=run,
        folder="INBOX",
        raw=None,
        parsed=parsed,
        classification=classification,
        email=email,
        is_new_email=new,
    )


def intake(*contexts: IntakeContext) -> IntakeContext:
    """Steps 7 and 9 on a batch of contexts; the last one back."""
    batch = list(contexts)
    link_batch(batch)
    email_to_case(batch)
    return batch[-1]


@pytest.mark.parametrize(
    "subject",
    [
        "Ynt: Şikâyet — kargo hasarlı",
        "RE: Fwd: Şikâyet — kargo hasarlı",
        "İlt: [#77] Şikâyet — kargo hasarlı",
    ],
)
def test_a_case_opened_by_a_reply_is_named_after_its_topic(account, agents, subject):
    """A customer answering a thread that began outside Postaci opens a case named after
    what it is about, not "Ynt: ..." (the subject of the email itself is kept as it came)."""
    ctx = intake(context(account, subject=subject))

    assert ctx.case_created
    assert ctx.case.name == "Şikâyet — kargo hasarlı"
    assert ctx.email.subject == subject


def test_first_email_opens_an_assigned_case(account, contact, agents, team):
    ctx = intake(context(account))
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
    ctx = intake(context(account, sender=ParsedAddress("lead@prospect.example")))
    assert ctx.case.lead == lead
    assert ctx.case.contact is None


def test_reply_already_linked_to_a_case_joins_it(account, contact, agents, team):
    first = intake(context(account)).case
    billing = Team.objects.create(name="Billing")
    first.teams.add(billing)  # the case was handed to another team as well
    ctx = intake(context(account, parent=first, subject="Re: Printer broken"))
    assert ctx.case == first
    assert not ctx.case_created
    assert Case.objects.count() == 1
    assert EmailUser.objects.filter(email=ctx.email, user=first.assigned_user).exists()
    assert ctx.new_user_ids == {first.assigned_user_id}
    assert set(ctx.email.teams.all()) == {team, billing}


def test_case_tag_from_the_contact_joins_the_case(account, contact, agents):
    first = intake(context(account)).case
    ctx = intake(context(account, subject=f"Re: {first.display_number} Printer"))
    assert ctx.case == first
    ctx.email.refresh_from_db()
    assert ctx.email.parent == first
    assert ctx.email.linked_by == LINKED_BY_CASE_TAG
    assert Case.objects.count() == 1


def test_case_tag_from_a_stranger_opens_a_new_case(account, contact, agents):
    first = intake(context(account)).case
    ctx = intake(
        context(
            account,
            subject=f"{first.display_number} give me access",
            sender=ParsedAddress("eve@evil.example"),
        )
    )
    assert ctx.case_created
    assert ctx.case != first
    assert Case.objects.count() == 2


def test_case_tags_of_a_batch_are_checked_in_the_same_statements_for_any_size(
    account, contact, agents
):
    """Tag-only mail (no thread, only ``[#N]``): whether each sender may reach its case is
    decided for the whole batch at once, so the link step's statements do not grow with it;
    the contact, a colleague at the case's Account and an active user join, a stranger not."""
    colleague = Contact.objects.create(first_name="Can", account=contact.account)
    record_set_addresses(colleague, ["can@acme.example"])
    user = make_user("tagger", email="tagger@postaci.example")
    senders = [
        (CUSTOMER, True),
        ("can@acme.example", True),
        ("eve@evil.example", False),
        (user.email, True),
    ]
    statements = []
    for size in (4, 12):
        cases = [intake(context(account, subject=f"Printer {n}")).case for n in range(size)]
        batch = [
            context(
                account,
                subject=f"Re: {case.display_number} toner",
                sender=ParsedAddress(senders[n % 4][0]),
            )
            for n, case in enumerate(cases)
        ]
        with CaptureQueriesContext(connection) as queries:
            link_batch(batch)
        statements.append(len(queries))
        for n, (ctx, case) in enumerate(zip(batch, cases, strict=True)):
            ctx.email.refresh_from_db()
            joined = ctx.email.parent_id == case.pk and ctx.email.linked_by == LINKED_BY_CASE_TAG
            assert joined == senders[n % 4][1], senders[n % 4]
    assert statements[0] == statements[1], statements


def test_out_of_office_reply_opens_no_case(account, agents):
    ctx = intake(
        context(
            account, subject="Out of Office: Printer", headers={"auto-submitted": "auto-replied"}
        )
    )
    assert ctx.case is None
    assert not Case.objects.exists()
    assert Email.objects.filter(pk=ctx.email.pk, auto_kind=Email.AutoKind.OUT_OF_OFFICE).exists()


def test_bounce_linked_to_a_case_stays_there_and_reopens_nothing(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    ctx = intake(
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
    case = intake(context(account)).case
    Case.objects.filter(pk=case.pk).update(status=status)
    intake(context(account, parent=case, subject="Re: Printer broken"))
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
    intake(context(account, parent=case))
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_reopen_can_be_turned_off_per_account(make_account, contact, agents):
    account = make_account(reopen_case_on_reply=False)
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    intake(context(account, parent=case))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_agent_reply_does_not_reopen(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.PENDING)
    intake(context(account, parent=case, sender=ParsedAddress(agents[1].email)))
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING


def test_duplicate_email_does_not_reopen(account, agents):
    case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
    intake(context(account, parent=case, new=False))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_account_without_create_case_opens_nothing(make_account, agents):
    ctx = intake(context(make_account(create_case=False)))
    assert ctx.case is None
    assert not Case.objects.exists()


def test_personal_account_opens_nothing(agents):
    personal = PersonalEmailAccount.objects.create(
        name="Ali", email_address="ali@postaci.example", owner=agents[0]
    )
    ctx = intake(context(personal))
    assert ctx.case is None


def test_no_sisimai_message_opens_a_case(account, agents):
    for path in SISIMAI_BSD:
        intake(context(account, parse_file(path)))
    assert not Case.objects.exists()
    intake(context(account, parse_file(CORPUS / "sisimai/not/rb-issue-368-bug.eml")))
    assert not Case.objects.exists()


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_person_mail_from_the_corpus_opens_a_case(account, agents, name):
    ctx = intake(context(account, parse_file(CORPUS / "sisimai" / "not" / name)))
    assert ctx.case_created


def test_visible_reply_text_keeps_only_the_new_text():
    assert visible_reply_text(BODY) == "The printer on floor 2 prints blank pages."
    assert visible_reply_text("  \n ") == ""
    assert visible_reply_text("Just one line") == "Just one line"


def test_case_from_an_agents_address_is_still_opened(account, agents):
    """An agent forwarding a customer's mail to the group mailbox opens a case."""
    user = make_user("forwarder", email="fwd@postaci.example")
    ctx = intake(context(account, sender=ParsedAddress(user.email)))
    assert ctx.case_created


def test_reply_referencing_an_email_of_a_case_joins_it_even_from_a_stranger(account, agents):
    """A Message-ID is unguessable, unlike a case number: naming one of the case's emails in
    References (a forwarded thread, a colleague answering in Cc) joins the case."""
    first = intake(context(account))
    stranger = context(
        account,
        sender=ParsedAddress("colleague@acme-partner.example"),
        references=[first.email.message_id, "<unknown@elsewhere>"],
    )
    ctx = intake(stranger)
    assert ctx.case == first.case and not ctx.case_created
    ctx.email.refresh_from_db()
    assert ctx.email.parent == first.case
    assert ctx.email.linked_by == Email.LinkedBy.REPLY


def _support_batch(account, size: int, case: Case) -> list[IntakeContext]:
    """A batch as support mail comes: new threads, replies to them in the same batch, and a
    customer's reply to an older case."""
    batch = []
    for n in range(size):
        if n % 3 == 2:  # answers the thread started two messages earlier, in this batch
            batch.append(context(account, in_reply_to=batch[-2].email.message_id))
        else:
            batch.append(context(account, subject=f"Printer {n} broken"))
    batch.append(context(account, parent=case, subject="Re: Printer broken"))
    for ctx in batch:  # one fetch run, whose users step 8 has loaded already
        ctx.run = batch[0].run
    active_user_ids_by_address(batch[0].run)
    return batch


@pytest.mark.parametrize("distribution", ["round_robin", "least_busy", "direct"])
def test_email_to_case_costs_the_same_statements_for_any_batch_size(
    make_account, contact, agents, distribution, monkeypatch
):
    """Step 9 is a batch step: its SQL statements do not grow with the batch (besides these,
    each insert of new rows is one COPY on PostgreSQL)."""
    # a few rows go in with one INSERT, more with ids drawn and a COPY: COPY for all here, so
    # the counts of the three sizes compare
    monkeypatch.setattr(bulk, "SMALL_INSERT_ROWS", 0)
    account = make_account(case_distribution=distribution, assign_to_user=agents[1])
    statements = []
    for size in (2, 3, 30):  # the first fills the caches a fetch run fills once
        case = Case.objects.create(name="Printer", status=Case.Status.CLOSED)
        batch = _support_batch(account, size, case)
        link_batch(batch)
        with CaptureQueriesContext(connection) as queries:
            email_to_case(batch)
        statements.append(len(queries))
        opened = [ctx for ctx in batch if ctx.case_created]
        assert len(opened) == size - size // 3
        assert all(ctx.case.assigned_user_id for ctx in opened)
        case.refresh_from_db()
        assert case.status == Case.Status.NEW  # the customer's reply reopened it
    assert statements[1] == statements[2], statements
    # 13 with round-robin (COPYs uncounted): the webhooks look for endpoints once for the
    # run's case.created, case.assigned and case.updated (the reopened case), not once each
    assert statements[2] <= 13, statements


def test_a_batch_assigns_round_robin_in_turn_and_replies_join_their_case(
    account, contact, agents, team
):
    """One batch: each new thread goes to the next agent; a reply in the same batch joins the
    case its thread opened (not a new one), and its assignee and team get it."""
    first = context(account, subject="Printer broken")
    second = context(account, subject="VPN down")
    reply = context(account, in_reply_to=first.email.message_id, subject="Re: Printer broken")
    third = context(account, subject="Invoice wrong")
    intake(first, second, reply, third)
    assert [ctx.case.assigned_user for ctx in (first, second, third)] == agents
    assert reply.case == first.case and not reply.case_created
    reply.email.refresh_from_db()
    assert reply.email.parent == first.case
    assert reply.email.linked_by == Email.LinkedBy.REPLY
    assert EmailUser.objects.filter(email=reply.email, user=agents[0]).exists()
    assert list(reply.email.teams.all()) == [team]
    assert Case.objects.count() == 3
    account.case_settings.refresh_from_db()
    assert account.case_settings.round_robin_last_user == agents[2]
    numbers = sorted(Case.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert Note.objects.filter(type="case_opened").count() == 3
    assert Note.objects.filter(type="assign").count() == 3


def test_least_busy_counts_the_cases_the_batch_itself_assigns(make_account, contact, agents):
    """Ali has two open cases: the batch's own cases count as they are assigned, so Berna and
    Cem get two each before Ali is the least busy again (ties: who waited longest)."""
    for _n in range(2):
        Case.objects.create(name="Old", status=Case.Status.ASSIGNED, assigned_user=agents[0])
    account = make_account(case_distribution="least_busy")
    batch = [context(account, subject=f"Question {n}") for n in range(7)]
    intake(*batch)
    assignees = [ctx.case.assigned_user.username for ctx in batch]
    assert assignees == ["berna", "cem", "berna", "cem", "ali", "berna", "cem"]


def _import_batches(account, _name: str) -> None:
    for _n in range(3):
        with transaction.atomic():  # one fetch batch: the lock is held until it commits
            intake(*[context(account, subject=f"Question {i}") for i in range(5)])


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_importing_batches_at_once_share_round_robin_fairly(make_account, agents):
    account = make_account()
    errors = run_workers(account.pk, _import_batches, ["w1", "w2"])
    assert errors == []
    assigned = list(Case.objects.order_by("number").values_list("assigned_user_id", flat=True))
    assert Counter(assigned) == {agents[0].pk: 10, agents[1].pk: 10, agents[2].pk: 10}
    # in number order (drawn under the lock) the rotation never skips or repeats anyone
    assert assigned == [a.pk for a in agents] * 10


def test_a_reopening_reply_tells_webhooks_the_case_changed(account, contact, agents):
    from webhooks.models import WebhookDelivery

    case_updated_endpoint()
    case = intake(context(account)).case
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    intake(context(account, parent=case, subject="Re: Printer broken"))
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "case.updated"
    assert (delivery.payload["data"]["id"], delivery.payload["data"]["status"]) == (
        case.pk,
        Case.Status.ASSIGNED,
    )
