"""The notification reasons of cases, as users choose them on their preferences page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.notification_reasons import (
    RECORD_ASSIGNED,
    Level,
    NotificationReason,
    notification_reason_register,
)
from mailboxes.notes.email_notes import mail_owner_register

CASE_ASSIGNED = "case_assigned"
CASE_MAIL = "case_mail"
CASE_MAIL_OTHERS = "case_mail_others"


def register_notification_reasons() -> None:
    section = _("Cases")
    notification_reason_register(
        NotificationReason(
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
    notification_reason_register(
        NotificationReason(
            code=CASE_MAIL,
            label=_("Email on a case assigned to me"),
            help_text=_("The customer's replies, and mail a colleague sends on it."),
            section=section,
            order=110,
            default=Level.EMAIL,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=CASE_MAIL_OTHERS,
            label=_("New email on a colleague's case, in a group mailbox I'm on"),
            help_text=_("Off by default: the case's owner is told; the email is in your inbox."),
            section=section,
            order=120,
            default=Level.OFF,
            emailable=False,
        )
    )
    mail_owner_register("cases.case", owner_reason=CASE_MAIL, others_reason=CASE_MAIL_OTHERS)
