"""What a role allows of mail: sending through group accounts, connecting personal ones.

The permissions are registered with crm's role permissions in ``MailboxesConfig.ready``;
emails' own read level is the ``email_access`` record-access permission.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.access import LEVEL_RANK, is_admin, role_values
from crm.permissions import GENERAL, Permission, permission_register, record_access_register


class GroupEmailAccountLevel(models.TextChoices):
    """Who may send through a shared group account (EspoCRM's "Group Email Account")."""

    NO = "no", _("No")
    TEAM = "team", _("Team")
    ALL = "all", _("All")


def register_mail_permissions() -> None:
    record_access_register("email", _("emails"), order=10)
    permission_register(
        Permission(
            name="group_email_account",
            label=_("group email account"),
            default=GroupEmailAccountLevel.NO,
            choices=tuple(GroupEmailAccountLevel.choices),
            help_text=_("Sending through shared group email accounts."),
            section=GENERAL,
            order=10,
        )
    )
    permission_register(
        Permission(
            name="personal_email_accounts",
            label=_("personal email accounts"),
            default=True,
            help_text=_("The user may connect their own mailboxes."),
            section=GENERAL,
            order=20,
        )
    )


def group_email_account_level(user) -> str:
    """``no``, ``team`` or ``all``: may the user send through shared group accounts."""
    if not (user and user.is_authenticated and user.is_active):
        return "no"
    if user.is_superuser:
        return "all"
    levels = role_values(user, "group_email_account") or ["no"]
    return max(levels, key=LEVEL_RANK.__getitem__)


def may_have_personal_accounts(user) -> bool:
    if is_admin(user):
        return True
    values = role_values(user, "personal_email_accounts")
    return not values or any(values)
