"""Converting a Lead into an Account, a Contact and optionally an Opportunity."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, EmailAddressLink, Lead, Note, Opportunity, User
from crm.records import record_create
from crm.stream import note_create


class LeadAlreadyConverted(ValueError):
    """The lead was converted before (possibly by someone else a moment ago)."""

    def __init__(self) -> None:
        super().__init__(_("This lead has already been converted."))


@dataclass(frozen=True)
class LeadConversion:
    account: Account | None
    contact: Contact
    opportunity: Opportunity | None


@transaction.atomic
def lead_convert(
    lead: Lead,
    *,
    user: User,
    account: Account | None = None,
    account_name: str = "",
    opportunity_name: str = "",
    opportunity_amount: Decimal | None = None,
    opportunity_close_date: datetime.date | None = None,
) -> LeadConversion:
    """Turn ``lead`` into a Contact, under ``account`` or a new Account named
    ``account_name`` (neither: no Account), plus an Opportunity when ``opportunity_name`` is
    given. The lead's email addresses move to the Contact; the lead is marked Converted."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.CONVERTED:
        raise LeadAlreadyConverted()
    teams = list(lead.teams.all())
    common = {"assigned_user": lead.assigned_user}

    if account is None and account_name.strip():
        account = record_create(
            Account(name=account_name.strip(), **common), user=user, teams=teams
        )
    contact = record_create(
        Contact(
            salutation=lead.salutation,
            first_name=lead.first_name,
            last_name=lead.last_name,
            title=lead.title,
            phone=lead.phone,
            description=lead.description,
            account=account,
            **common,
        ),
        user=user,
        teams=teams,
    )
    EmailAddressLink.objects.filter(
        content_type=ContentType.objects.get_for_model(Lead), object_id=lead.pk
    ).update(content_type=ContentType.objects.get_for_model(Contact), object_id=contact.pk)

    opportunity = None
    if opportunity_name.strip():
        opportunity = record_create(
            Opportunity(
                name=opportunity_name.strip(),
                account=account,
                contact=contact,
                amount=opportunity_amount,
                close_date=opportunity_close_date,
                **common,
            ),
            user=user,
            teams=teams,
        )

    lead.status = Lead.Status.CONVERTED
    lead.converted_account = account
    lead.converted_contact = contact
    lead.save(update_fields=["status", "converted_account", "converted_contact", "modified_at"])
    note_create(
        parent=lead,
        type=Note.Type.STATUS,
        author=user,
        data={"field": "status", "value": Lead.Status.CONVERTED},
    )
    return LeadConversion(account=account, contact=contact, opportunity=opportunity)
