"""The ``[#N]`` subject tag and who may reach a case with it."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from cases.case_tag import case_for_tag, case_number_in
from cases.models import Case
from crm.addresses import addresses_get_or_create, record_set_addresses
from crm.models import Account, Contact, Lead
from mailboxes.models import Email
from tests.cases.conftest import make_user


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("[#123] Printer", 123),
        ("Re: [#123] Printer", 123),
        ("AW: RE: [#123] Printer", 123),
        ("[#123 Printer broken]", 123),
        ("[#123: ACME] Printer", 123),
        ("Printer [#7]", 7),
        ("[#12] Re: [#34]", 12),
        ("[#] Printer", None),
        ("[#abc] Printer", None),
        ("#123 Printer", None),
        ("[123] Printer", None),
        ("", None),
    ],
)
def test_case_number_in_subject(subject, number):
    assert case_number_in(subject) == number


@pytest.fixture
def acme(db):
    account = Account.objects.create(name="ACME")
    record_set_addresses(account, ["info@acme.example"])
    return account


@pytest.fixture
def case(acme):
    contact = Contact.objects.create(last_name="Yılmaz", account=acme)
    record_set_addresses(contact, ["ayse@acme.example"])
    return Case.objects.create(name="Printer", account=acme, contact=contact)


def subject_for(case: Case) -> str:
    return f"Re: {case.display_number} Printer"


def test_case_contact_reaches_the_case(case):
    assert case_for_tag(subject=subject_for(case), sender_address="Ayse@ACME.example") == case


def test_colleague_at_the_cases_account_reaches_the_case(case, acme):
    colleague = Contact.objects.create(last_name="Kaya", account=acme)
    record_set_addresses(colleague, ["mehmet@acme.example"])
    assert case_for_tag(subject=subject_for(case), sender_address="mehmet@acme.example") == case


def test_accounts_own_address_reaches_the_case(case):
    assert case_for_tag(subject=subject_for(case), sender_address="info@acme.example") == case


def test_active_user_reaches_the_case(case):
    make_user("agent", email="agent@postaci.example")
    assert case_for_tag(subject=subject_for(case), sender_address="agent@postaci.example") == case


def test_inactive_user_is_a_stranger(case):
    make_user("gone", active=False, email="gone@postaci.example")
    assert case_for_tag(subject=subject_for(case), sender_address="gone@postaci.example") is None


def test_stranger_quoting_a_case_number_gets_none(case):
    assert case_for_tag(subject=subject_for(case), sender_address="eve@evil.example") is None


def test_contact_of_another_account_is_a_stranger(case):
    other = Contact.objects.create(last_name="Other", account=Account.objects.create(name="X"))
    record_set_addresses(other, ["o@x.example"])
    assert case_for_tag(subject=subject_for(case), sender_address="o@x.example") is None


def test_case_lead_reaches_the_case(db):
    lead = Lead.objects.create(last_name="Demir")
    record_set_addresses(lead, ["lead@prospect.example"])
    case = Case.objects.create(name="Question", lead=lead)
    assert case_for_tag(subject=subject_for(case), sender_address="lead@prospect.example") == case


def test_someone_who_already_wrote_in_the_case_reaches_it(db):
    case = Case.objects.create(name="Unknown sender's question")
    address = addresses_get_or_create(["walkin@example.org"])["walkin@example.org"]
    Email.objects.create(
        message_id="<first@example.org>",
        from_address=address,
        parent_type=ContentType.objects.get_for_model(Case),
        parent_id=case.pk,
    )
    assert case_for_tag(subject=subject_for(case), sender_address="walkin@example.org") == case


def test_unknown_case_number_gets_none(case):
    assert case_for_tag(subject="[#99999] Printer", sender_address="ayse@acme.example") is None


def test_no_tag_gets_none(case):
    assert case_for_tag(subject="Printer", sender_address="ayse@acme.example") is None
