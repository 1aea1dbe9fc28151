from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailFolder(models.Model):
    """A user's personal folder; an email is in at most one per user (``EmailUser.folder``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_folders"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    skip_notifications = models.BooleanField(_("skip notifications"), default=False)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="mailboxes_folder_unique")
        ]
        verbose_name = _("email folder")
        verbose_name_plural = _("email folders")

    def __str__(self) -> str:
        return self.name


class GroupEmailFolder(models.Model):
    """A shared folder; members of its teams see the emails in it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    teams = models.ManyToManyField(
        "crm.Team", blank=True, related_name="group_email_folders", verbose_name=_("teams")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("group email folder")
        verbose_name_plural = _("group email folders")

    def __str__(self) -> str:
        return self.name
