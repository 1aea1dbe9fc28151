"""The notification kinds of cases, as users choose them on their preferences page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.notification_kinds import (
    RECORD_ASSIGNED,
    Level,
    NotificationKind,
    notification_kind_register,
)
from mailboxes.email_notes import mail_owner_register

CASE_ASSIGNED = "case_assigned"
CASE_MAIL = "case_mail"
CASE_MAIL_OTHERS = "case_mail_others"


def register_notification_kinds() -> None:
    section = _("Cases")
    notification_kind_register(
        NotificationKind(
            code=CASE_ASSIGNED,
            label=_("A case is assigned to me"),
            help_text=_("By the group mailbox's distribution rule or by a colleague."),
            section=section,
            order=100,
            default=Level.EMAIL,
            instead_of=RECORD_ASSIGNED,
            model="cases.case",
        )
    )
    notification_kind_register(
        NotificationKind(
            code=CASE_MAIL,
            label=_("Email on a case assigned to me"),
            help_text=_("The customer's replies, and mail a colleague sends on it."),
            section=section,
            order=110,
            default=Level.EMAIL,
        )
    )
    notification_kind_register(
        NotificationKind(
            code=CASE_MAIL_OTHERS,
            label=_("New email on a colleague's case, in a group mailbox I'm on"),
            help_text=_("Off by default: the case's owner is told; the email is in your inbox."),
            section=section,
            order=120,
            default=Level.OFF,
            emailable=False,
        )
    )
    mail_owner_register("cases.case", owner_kind=CASE_MAIL, others_kind=CASE_MAIL_OTHERS)
