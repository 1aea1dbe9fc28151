"""Step 7: which record an incoming email belongs to, rule by rule."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from cases.models import Case
from crm.models import Account, Contact, Lead
from mailboxes.intake.link import link_batch
from mailboxes.linking.message_ids import message_id_new
from mailboxes.models import Email, GroupEmailAccount
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import contexts_before, import_messages, import_one

pytestmark = pytest.mark.django_db

LinkedBy = Email.LinkedBy


def parent_of(email: Email):
    email.refresh_from_db()
    return email.parent


@pytest.fixture
def ayse(make_record, owner, acme):
    return make_record(
        "contact",
        owner,
        first_name="Ayşe",
        last_name="Yılmaz",
        account=acme,
        addresses=["ayse@acme.example"],
    )


# --- rule 3: the sender ----------------------------------------------------------------------


def test_contact_with_account_links_to_the_account(mailbox, acme, ayse):
    email = import_one(mailbox, make_message(sender="Ayşe <AYSE@acme.example>"))
    assert parent_of(email) == acme
    assert email.linked_by == LinkedBy.SENDER
    assert email.account == acme


def test_contact_without_account_links_to_the_contact(mailbox, make_record, owner):
    loner = make_record("contact", owner, last_name="Loner", addresses=["loner@home.example"])
    email = import_one(mailbox, make_message(sender="loner@home.example"))
    assert parent_of(email) == loner
    assert email.account is None


def test_account_address_links_to_the_account(mailbox, acme):
    email = import_one(mailbox, make_message(sender="info@acme.example"))
    assert (parent_of(email), email.linked_by, email.account) == (acme, LinkedBy.SENDER, acme)


def test_contact_wins_over_an_account_with_the_same_address(mailbox, make_record, owner, acme):
    other = make_record("account", owner, name="Other", addresses=["shared@x.example"])
    make_record("contact", owner, last_name="C", account=acme, addresses=["shared@x.example"])
    email = import_one(mailbox, make_message(sender="shared@x.example"))
    assert parent_of(email) == acme != other


def test_lead_links_to_the_lead(mailbox, make_record, owner):
    lead = make_record("lead", owner, last_name="Prospect", addresses=["p@lead.example"])
    email = import_one(mailbox, make_message(sender="p@lead.example"))
    assert (parent_of(email), email.account) == (lead, None)


def test_converted_lead_links_to_what_it_became(mailbox, make_record, owner, acme, ayse):
    lead = make_record(
        "lead",
        owner,
        last_name="Was lead",
        addresses=["was@lead.example"],
        status=Lead.Status.CONVERTED,
        converted_account=acme,
        converted_contact=ayse,
    )
    email = import_one(mailbox, make_message(sender="was@lead.example"))
    assert parent_of(email) == acme != lead
    assert email.account == acme


def test_lead_converted_to_a_contact_only_follows_the_contact_rule(
    mailbox, make_record, owner, acme, ayse
):
    make_record(
        "lead",
        owner,
        last_name="L",
        addresses=["l@lead.example"],
        status=Lead.Status.CONVERTED,
        converted_contact=ayse,
    )
    email = import_one(mailbox, make_message(sender="l@lead.example"))
    assert parent_of(email) == acme  # Ayşe's Account


def test_unknown_sender_has_no_parent(mailbox, acme):
    email = import_one(mailbox, make_message(sender="stranger@nowhere.example"))
    assert email.parent_id is None and email.parent_type_id is None
    assert email.linked_by == LinkedBy.NONE
    assert email.account is None


def test_address_shared_by_two_contacts_picks_the_primary_then_the_oldest(
    mailbox, make_record, owner
):
    first_account = make_record("account", owner, name="First")
    second_account = make_record("account", owner, name="Second")
    # both carry the address as a second one: the older contact wins
    older = make_record(
        "contact",
        owner,
        last_name="Older",
        account=first_account,
        addresses=["older@x.example", "team@shared.example"],
    )
    make_record(
        "contact",
        owner,
        last_name="Newer",
        account=second_account,
        addresses=["newer@x.example", "team@shared.example"],
    )
    for _ in range(3):
        email = import_one(mailbox, make_message(sender="team@shared.example"))
        assert parent_of(email) == first_account

    # a contact whose primary address it is comes first, even when newer
    make_record(
        "contact",
        owner,
        last_name="Primary",
        account=second_account,
        addresses=["team@shared.example"],
    )
    email = import_one(mailbox, make_message(sender="team@shared.example"))
    assert parent_of(email) == second_account
    assert older.pk < Contact.objects.get(last_name="Primary").pk


# --- rule 4: Reply-To, then To ----------------------------------------------------------------


def test_reply_to_is_used_when_the_sender_is_unknown(mailbox, acme, ayse):
    raw = make_message(sender="noreply@forms.example", headers={"Reply-To": "ayse@acme.example"})
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by) == (acme, LinkedBy.REPLY_TO)


def test_first_to_address_links_mail_we_sent(mailbox, make_record, owner, acme):
    lead = make_record("lead", owner, last_name="L", addresses=["lead@x.example"])
    raw = make_message(sender="sales@postaci.example", to="lead@x.example, info@acme.example")
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by) == (lead, LinkedBy.TO)


# --- rule 1: our signed Message-ID ------------------------------------------------------------


def test_our_reference_links_to_the_named_record(mailbox, make_record, owner, acme, ayse):
    deal = make_record("opportunity", owner, name="Big deal", account=acme)
    ours = message_id_new(parent=deal)
    raw = make_message(
        sender="ayse@acme.example",  # the sender rule would say Acme
        headers={"In-Reply-To": ours, "References": f"<older@acme.example> {ours}"},
    )
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by, email.account) == (deal, LinkedBy.REFERENCE, acme)


def test_reference_deep_in_the_thread_is_found(mailbox, make_record, owner, ayse):
    ours = message_id_new(parent=ayse)
    raw = make_message(
        sender="x@unknown.example",
        headers={
            "References": f"{ours} <a@b.example> <c@d.example>",
            "In-Reply-To": "<c@d.example>",
        },
    )
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by) == (ayse, LinkedBy.REFERENCE)


def test_forged_reference_is_ignored(mailbox, make_record, owner, make_user, acme, ayse):
    victim = make_record("account", make_user("victim", level="own"), name="Victim Inc")
    genuine = message_id_new(parent=acme)
    forged = genuine.replace(f"account.{acme.pk}.", f"account.{victim.pk}.")
    unsigned = f"<account.{victim.pk}.0123456789abcdef01.0123456789abcdef0123@postaci.local>"
    raw = make_message(sender="ayse@acme.example", headers={"References": f"{unsigned} {forged}"})
    email = import_one(mailbox, raw)
    assert parent_of(email) == acme  # the sender rule, not the forged reference
    assert email.linked_by == LinkedBy.SENDER


def test_reference_to_a_deleted_record_falls_through(mailbox, make_record, owner, acme, ayse):
    gone = make_record("opportunity", owner, name="Gone")
    ours = message_id_new(parent=gone)
    gone.delete()
    email = import_one(
        mailbox, make_message(sender="ayse@acme.example", headers={"In-Reply-To": ours})
    )
    assert (parent_of(email), email.linked_by) == (acme, LinkedBy.SENDER)


def test_reference_to_a_case_links_to_the_case_and_its_account(mailbox, owner, acme):
    case = Case.objects.create(name="Printer", account=acme)
    raw = make_message(
        sender="x@unknown.example", headers={"In-Reply-To": message_id_new(parent=case)}
    )
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by, email.account) == (case, LinkedBy.REFERENCE, acme)


def test_reference_to_a_converted_lead_links_to_its_account(mailbox, make_record, owner, acme):
    lead = make_record("lead", owner, last_name="L")
    ours = message_id_new(parent=lead)
    lead.status, lead.converted_account = Lead.Status.CONVERTED, acme
    lead.save()
    email = import_one(
        mailbox, make_message(sender="x@unknown.example", headers={"In-Reply-To": ours})
    )
    assert parent_of(email) == acme


# --- rule 2: the replied email ----------------------------------------------------------------


def test_reply_takes_the_parent_of_the_email_it_answers(mailbox, make_record, owner, acme, ayse):
    deal = make_record("opportunity", owner, name="Deal", account=acme)
    original = import_one(
        mailbox, make_message(sender="ayse@acme.example", message_id="<o1@acme.example>")
    )
    Email.objects.filter(pk=original.pk).update(
        parent_type=ContentType.objects.get_for_model(deal), parent_id=deal.pk
    )
    reply = import_one(
        mailbox,
        make_message(
            sender="colleague@elsewhere.example",
            headers={"In-Reply-To": "<o1@acme.example>", "References": "<o1@acme.example>"},
        ),
    )
    assert (parent_of(reply), reply.linked_by, reply.account) == (deal, LinkedBy.REPLY, acme)
    assert reply.replied == original


def test_replied_is_set_even_when_the_original_has_no_parent(mailbox, acme):
    original = import_one(mailbox, make_message(sender="s@x.example", message_id="<o2@x.example>"))
    reply = import_one(
        mailbox, make_message(sender="info@acme.example", headers={"In-Reply-To": "<o2@x.example>"})
    )
    assert reply.replied == original
    assert (parent_of(reply), reply.linked_by) == (acme, LinkedBy.SENDER)


def test_reply_in_the_same_batch_as_its_original(mailbox, acme, ayse):
    reply = make_message(sender="x@unknown.example", headers={"In-Reply-To": "<o3@acme.example>"})
    original = make_message(sender="ayse@acme.example", message_id="<o3@acme.example>")
    assert import_messages(mailbox, reply, original) == ["imported", "imported"]

    first = Email.objects.get(message_id="<o3@acme.example>")
    second = Email.objects.exclude(pk=first.pk).get()
    assert parent_of(second) == acme and second.linked_by == LinkedBy.REPLY
    assert second.replied == first


def test_newest_reference_wins_when_in_reply_to_is_unknown(mailbox, make_record, owner):
    old, new = make_record("account", owner, name="Old"), make_record("account", owner, name="New")
    for message_id, account in (("<a@x.example>", old), ("<b@x.example>", new)):
        email = import_one(mailbox, make_message(sender="s@x.example", message_id=message_id))
        Email.objects.filter(pk=email.pk).update(
            parent_type=ContentType.objects.get_for_model(Account), parent_id=account.pk
        )
    reply = import_one(
        mailbox,
        make_message(
            sender="s@x.example",
            headers={
                "In-Reply-To": "<unknown@x.example>",
                "References": "<a@x.example> <b@x.example>",
            },
        ),
    )
    assert parent_of(reply) == new
    assert reply.replied.message_id == "<b@x.example>"


# --- what linking leaves alone ----------------------------------------------------------------


def test_duplicate_keeps_its_parent_even_a_manual_one(mailbox, make_record, owner, acme, ayse):
    raw = make_message(sender="ayse@acme.example")
    email = import_one(mailbox, raw)
    deal = make_record("opportunity", owner, name="Chosen by hand")
    Email.objects.filter(pk=email.pk).update(
        parent_type=ContentType.objects.get_for_model(deal),
        parent_id=deal.pk,
        linked_by=LinkedBy.MANUAL,
    )
    second = GroupEmailAccount.objects.create(name="Other", email_address="other@postaci.example")

    again = import_one(second, raw)

    assert again.pk == email.pk
    assert (parent_of(again), again.linked_by) == (deal, LinkedBy.MANUAL)


@pytest.mark.parametrize("size", [5, 50])
def test_link_step_runs_a_bounded_number_of_queries(
    size, mailbox, make_record, owner, acme, ayse, django_assert_max_num_queries
):
    deal = make_record("opportunity", owner, name="Deal", account=acme)
    lead = make_record(
        "lead",
        owner,
        last_name="L",
        addresses=["lead@x.example"],
        status=Lead.Status.CONVERTED,
        converted_contact=ayse,
    )
    known = import_one(mailbox, make_message(sender="s@x.example", message_id="<known@x.example>"))
    Email.objects.filter(pk=known.pk).update(
        parent_type=ContentType.objects.get_for_model(Lead), parent_id=lead.pk
    )
    senders = ["ayse@acme.example", "info@acme.example", "lead@x.example", "nobody@x.example"]
    raws = []
    for i in range(size):
        headers = {}
        if i % 3 == 0:
            headers["In-Reply-To"] = message_id_new(parent=deal)
        elif i % 3 == 1:
            headers["References"] = "<known@x.example>"
        raws.append(make_message(sender=senders[i % 4], headers=headers))
    with transaction.atomic():
        batch = contexts_before(mailbox, raws, "link")
        # replied emails, 2 record types, addresses (links + 3 types), contacts, the UPDATE
        with django_assert_max_num_queries(9):
            link_batch(batch)
    assert Email.objects.filter(linked_by=LinkedBy.REFERENCE).count() == len(range(0, size, 3))
    assert Email.objects.filter(linked_by=LinkedBy.REPLY, account=acme).count() == len(
        range(1, size, 3)
    )


def test_long_threads_keep_their_first_reference(mailbox, make_record, owner):
    deal = make_record("opportunity", owner, name="Started by us")
    chain = [message_id_new(parent=deal)] + [f"<r{i}@x.example>" for i in range(60)]
    raw = make_message(sender="x@unknown.example", headers={"References": " ".join(chain)})
    email = import_one(mailbox, raw)
    assert (parent_of(email), email.linked_by) == (deal, LinkedBy.REFERENCE)
