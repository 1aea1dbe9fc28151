"""The case tag ``[#123]`` in subjects, and who may use it to reach a case.

A case number is short and guessable, so a tag alone never joins a thread: the sender must
belong to the case (its contact or lead, someone at its Account, someone who already wrote in
it) or be an active user. A stranger quoting a number starts a new case instead (the
incumbent and most peers accept any sender; research/peers.md §3).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from cases.models import Case
from crm.addresses import normalize_address
from crm.models import Account, Contact, EmailAddressLink, Lead, User
from mailboxes.sending.compose import SUBJECT_TAG

# "[#123]", "[#123 ...]" / "[#123: Printer]" anywhere (after "Re:", "AW:", ...); the first wins.
CASE_TAG = SUBJECT_TAG


def case_number_in(subject: str) -> int | None:
    """The case number tagged in ``subject``, or None."""
    match = CASE_TAG.search(subject or "")
    return int(match.group(1)) if match else None


def case_tag(case: Case) -> str:
    """What goes in the subject of mail about ``case``: ``[#123]``."""
    return case.display_number


def sender_belongs_to_case(case: Case, address: str) -> bool:
    """Whether ``address`` is the case's contact/lead, at its Account, in it, or a user."""
    address = normalize_address(address)
    if not address:
        return False
    types = ContentType.objects.get_for_models(Contact, Account, Lead, User)
    # the case's people and its Account, in one query over the address links
    people = Q(content_type=types[Contact], object_id=case.contact_id or 0)
    if case.account_id:
        people |= Q(
            content_type=types[Contact],
            object_id__in=Contact.objects.filter(account_id=case.account_id).values("pk"),
        ) | Q(content_type=types[Account], object_id=case.account_id)
    if case.lead_id:
        people |= Q(content_type=types[Lead], object_id=case.lead_id)
    people |= Q(
        content_type=types[User], object_id__in=User.objects.filter(is_active=True).values("pk")
    )
    if EmailAddressLink.objects.filter(people, address__address=address).exists():
        return True
    if User.objects.filter(is_active=True, email__iexact=address).exists():
        return True
    return _wrote_in_case(case, address)


def _wrote_in_case(case: Case, address: str) -> bool:
    from mailboxes.models import Email

    return Email.objects.filter(
        parent_type=ContentType.objects.get_for_model(Case),
        parent_id=case.pk,
        from_address__address=address,
    ).exists()


def case_for_tag(*, subject: str, sender_address: str) -> Case | None:
    """The case tagged in ``subject`` when the sender may reach it; None otherwise."""
    number = case_number_in(subject)
    if number is None:
        return None
    case = Case.objects.filter(number=number).first()
    if case is None or not sender_belongs_to_case(case, sender_address):
        return None
    return case


def case_search_operator(emails, value: str, user):
    """``case:123`` in the email search: the emails of case number 123 (only those the
    search already let the user see). None (searched as text) when it is not a number."""
    number = value.lstrip("#")
    if not number.isdigit():
        return None
    case_ids = Case.objects.filter(number=int(number)).values("pk")
    return emails.filter(
        parent_type=ContentType.objects.get_for_model(Case), parent_id__in=case_ids
    )
