from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access import RecordQuerySet


class Record(models.Model):
    """What every CRM record shares: ownership, teams, audit times, stream and addresses.

    ``access_scope`` names the role permission (``<scope>_access``) that guards the record.
    """

    access_scope: ClassVar[str] = ""
    url_name: ClassVar[str] = ""

    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned user"),
    )
    teams = models.ManyToManyField(
        "crm.Team", blank=True, related_name="+", verbose_name=_("teams")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)
    email_links = GenericRelation("crm.EmailAddressLink")
    # Deleting a record deletes its followers and its own stream (not the Account stream
    # entries of its children, which keep their own parent).
    follows = GenericRelation("crm.Follow")
    notes = GenericRelation(
        "crm.Note", content_type_field="parent_type", object_id_field="parent_id"
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse(self.url_name, args=[self.pk])

    @property
    def email_address_rows(self) -> list:
        """The ``EmailAddress`` rows, primary first, with their invalid reason (uses the
        prefetch cache when there is one)."""
        links = sorted(self.email_links.all(), key=lambda link: (not link.primary, link.pk))
        return [link.address for link in links]

    @property
    def email_addresses(self) -> list[str]:
        """Addresses, primary first."""
        return [address.address for address in self.email_address_rows]

    @property
    def primary_email(self) -> str:
        addresses = self.email_addresses
        return addresses[0] if addresses else ""

    @property
    def account_record(self):
        """The Account this record belongs to, if any (the Account of itself)."""
        return getattr(self, "account", None)


class Account(Record):
    access_scope = "account"
    url_name = "crm:account-detail"

    class Type(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        INVESTOR = "investor", _("Investor")
        PARTNER = "partner", _("Partner")
        RESELLER = "reseller", _("Reseller")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=255)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.name

    @property
    def account_record(self):
        return self


class Salutation(models.TextChoices):
    """How a letter addresses a person; stored as a code, written in the reader's language."""

    MR = "mr", _("Mr.")
    MS = "ms", _("Ms.")
    MRS = "mrs", _("Mrs.")
    DR = "dr", _("Dr.")


class Person(Record):
    salutation = models.CharField(
        _("salutation"),
        max_length=10,
        choices=Salutation.choices,
        blank=True,
        default="",
        db_default="",
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def name(self) -> str:
        return str(self)


class Contact(Person):
    access_scope = "contact"
    url_name = "crm:contact-detail"

    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("account"),
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")


class Lead(Person):
    access_scope = "lead"
    url_name = "crm:lead-detail"

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROCESS = "in_process", _("In process")
        CONVERTED = "converted", _("Converted")
        RECYCLED = "recycled", _("Recycled")
        DEAD = "dead", _("Dead")

    class Source(models.TextChoices):
        EMAIL = "email", _("Email")
        WEB_SITE = "web_site", _("Web site")
        CALL = "call", _("Call")
        PARTNER = "partner", _("Partner")
        CAMPAIGN = "campaign", _("Campaign")
        OTHER = "other", _("Other")

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    account_name = models.CharField(_("company"), max_length=255, blank=True)
    converted_account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted to account"),
    )
    converted_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted to contact"),
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    @property
    def account_record(self):
        return None

    @property
    def converted_record(self):
        """What a converted lead turned into: its Account, else its Contact."""
        if self.status != self.Status.CONVERTED:
            return None
        return self.converted_account or self.converted_contact


class Opportunity(Record):
    access_scope = "opportunity"
    url_name = "crm:opportunity-detail"

    class Stage(models.TextChoices):
        PROSPECTING = "prospecting", _("Prospecting")
        QUALIFICATION = "qualification", _("Qualification")
        PROPOSAL = "proposal", _("Proposal")
        NEGOTIATION = "negotiation", _("Negotiation")
        CLOSED_WON = "closed_won", _("Closed won")
        CLOSED_LOST = "closed_lost", _("Closed lost")

    name = models.CharField(_("name"), max_length=255)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        verbose_name=_("contact"),
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.PROSPECTING
    )
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    close_date = models.DateField(_("close date"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.name
