"""A user's email signature (the group accounts' own is ``GroupEmailAccount.signature_html``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserSignature(models.Model):
    """The signature a user's emails get (sanitized HTML); mailboxes owns it, the
    preferences page shows it through crm's preference panels."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="email_signature",
        verbose_name=_("user"),
    )
    html = models.TextField(
        _("signature"),
        blank=True,
        help_text=_(
            "Added to the emails you write, above the quoted text. A group address's own "
            "signature takes its place when you send as that address."
        ),
    )

    class Meta:
        verbose_name = _("email signature")
        verbose_name_plural = _("email signatures")

    def __str__(self) -> str:
        return str(self.user)
