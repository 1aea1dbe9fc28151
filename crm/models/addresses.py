from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailAddress(models.Model):
    """One row per normalized address, shared by every record and email that carries it.

    An invalid address keeps why as data (crm.deliverability renders it in the reader's
    language): the source, the RFC 3463 status a bounce gave and the server's own words.
    """

    class InvalidSource(models.TextChoices):
        NONE = "", _("valid")
        HARD_BOUNCE = "hard_bounce", _("a hard bounce")
        SOFT_BOUNCES = "soft_bounces", _("repeated soft bounces")
        MANUAL = "manual", _("marked by hand")

    address = models.CharField(_("address"), max_length=320, unique=True)
    is_invalid = models.BooleanField(_("invalid"), default=False)
    opted_out = models.BooleanField(_("opted out"), default=False)
    # db defaults: crm.addresses inserts rows in raw SQL naming only the columns above
    invalid_source = models.CharField(
        _("why invalid"),
        max_length=16,
        choices=InvalidSource.choices,
        blank=True,
        default="",
        db_default="",
    )
    invalid_status = models.CharField(
        _("status code"), max_length=16, blank=True, default="", db_default=""
    )
    invalid_diagnostic = models.TextField(
        _("server's words"), blank=True, default="", db_default=""
    )
    invalid_at = models.DateTimeField(_("invalid since"), null=True, blank=True)
    marked_valid_at = models.DateTimeField(_("marked valid"), null=True, blank=True)

    class Meta:
        ordering = ["address"]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")

    def __str__(self) -> str:
        return self.address


class EmailAddressLink(models.Model):
    """Links an address to any record (Account, Contact, Lead, User, ...).

    The (address, content_type) index makes "which Contacts carry this address" a single
    indexed query whatever the number of records.
    """

    address = models.ForeignKey(EmailAddress, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address", "content_type", "object_id"], name="crm_addresslink_unique"
            )
        ]
        indexes = [models.Index(fields=["content_type", "object_id"], name="crm_addrlink_record")]
        # ordering gives the deterministic pick when several records share an address
        ordering = ["-primary", "object_id"]

    def __str__(self) -> str:
        return f"{self.address} → {self.content_type.model}:{self.object_id}"
