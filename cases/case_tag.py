"""The case tag ``[#123]`` in subjects, and who may use it to reach a case.

A case number is short and guessable, so a tag alone never joins a thread: the sender must
belong to the case (its contact or lead, someone at its Account, someone who already wrote in
it) or be an active user. A stranger quoting a number starts a new case instead (the
incumbent and most peers accept any sender; research/peers.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import Lower

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
    return (case.pk, normalize_address(address)) in senders_belonging_to_cases([(case, address)])


def senders_belonging_to_cases(pairs: Iterable[tuple[Case, str]]) -> set[tuple[int, str]]:
    """The (case id, normalized address) of the pairs whose sender belongs to the case (see
    ``sender_belongs_to_case``), for a whole batch in at most five queries, not per pair."""
    wanted = {
        (case.pk, address): case for case, raw in pairs if (address := normalize_address(raw))
    }
    if not wanted:
        return set()
    addresses = {address for _case_id, address in wanted}
    types = ContentType.objects.get_for_models(Contact, Account, Lead, User)
    type_of = {type_.pk: model for model, type_ in types.items()}
    links: dict[str, dict[type, set[int]]] = {}
    for address, type_id, object_id in EmailAddressLink.objects.filter(
        address__address__in=addresses, content_type_id__in=list(type_of)
    ).values_list("address__address", "content_type_id", "object_id"):
        links.setdefault(address, {}).setdefault(type_of[type_id], set()).add(object_id)
    contact_ids = {pk for by_model in links.values() for pk in by_model.get(Contact, ())}
    user_ids = {pk for by_model in links.values() for pk in by_model.get(User, ())}
    account_of_contact = (
        dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "account_id"))
        if contact_ids and any(case.account_id for case in wanted.values())
        else {}
    )
    active_linked = set(
        User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True)
        if user_ids
        else ()
    )

    def linked_to_case(case: Case, address: str) -> bool:
        by_model = links.get(address, {})
        contacts = by_model.get(Contact, set())
        if case.contact_id and case.contact_id in contacts:
            return True
        if case.account_id and (
            case.account_id in by_model.get(Account, set())
            or any(account_of_contact.get(pk) == case.account_id for pk in contacts)
        ):
            return True
        if case.lead_id and case.lead_id in by_model.get(Lead, set()):
            return True
        return bool(by_model.get(User, set()) & active_linked)

    belonging = {key for key, case in wanted.items() if linked_to_case(case, key[1])}
    undecided = addresses - {address for _case_id, address in belonging}
    if undecided:
        users = set(
            User.objects.annotate(address=Lower("email"))
            .filter(is_active=True, address__in=undecided)
            .values_list("address", flat=True)
        )
        belonging |= {key for key in wanted if key[1] in users}
    rest = [key for key in wanted if key not in belonging]
    if rest:
        belonging |= _wrote_in_cases(rest)
    return belonging


def _wrote_in_cases(keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    from mailboxes.models import Email

    wrote = set(
        Email.objects.filter(
            parent_type=ContentType.objects.get_for_model(Case),
            parent_id__in={case_id for case_id, _address in keys},
            from_address__address__in={address for _case_id, address in keys},
        )
        .values_list("parent_id", "from_address__address")
        .distinct()
    )
    return set(keys) & wrote


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
