from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Bounce(models.Model):
    """One failed recipient one bounce reports (mailboxes.bounces).

    ``sent_email`` is the message that bounced when it is one of ours (found by its
    Message-ID); only then, and only for one of its recipients, does the bounce count
    against the address (``counts``): anyone can send a bounce-shaped message.
    """

    email = models.ForeignKey(
        "mailboxes.Email", on_delete=models.CASCADE, related_name="bounces_reported"
    )
    sent_email = models.ForeignKey(
        "mailboxes.Email",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bounces",
        verbose_name=_("bounced email"),
    )
    address = models.ForeignKey(
        "crm.EmailAddress", on_delete=models.CASCADE, related_name="bounces"
    )
    hard = models.BooleanField(_("hard bounce"))
    counts = models.BooleanField(_("counts against the address"), default=False)
    status = models.CharField(_("status code"), max_length=16, blank=True)
    diagnostic = models.TextField(_("server's words"), blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "address"], name="mailboxes_bounce_unique")
        ]
        indexes = [
            models.Index(fields=["address", "created_at"], name="mailboxes_bounce_addr_time")
        ]
        verbose_name = _("bounce")
        verbose_name_plural = _("bounces")

    def __str__(self) -> str:
        return f"{self.address_id} {'hard' if self.hard else 'soft'} {self.status}"
