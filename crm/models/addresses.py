from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailAddress(models.Model):
    """One row per normalized address, shared by every record and email that carries it."""

    address = models.CharField(_("address"), max_length=320, unique=True)
    is_invalid = models.BooleanField(_("invalid"), default=False)
    opted_out = models.BooleanField(_("opted out"), default=False)

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
