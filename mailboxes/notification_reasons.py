"""The notification reasons of mail, as users choose them on their preferences page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.notification_reasons import Level, NotificationReason, notification_reason_register

MAIL_TO_ME = "mail_to_me"
GROUP_MAIL = "group_mail"
FOLLOWED_MAIL = "followed_mail"
MAIL_BOUNCED = "mail_bounced"


def register_notification_reasons() -> None:
    section = _("Email")
    notification_reason_register(
        NotificationReason(
            code=MAIL_TO_ME,
            label=_("New email to me"),
            help_text=_("My address is in To or Cc, or it came through my personal mailbox."),
            section=section,
            order=200,
            emailable=False,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=GROUP_MAIL,
            label=_("New email in a group mailbox I'm on that nobody owns yet"),
            help_text=_("Not on a case, or on a case still waiting for someone to take it."),
            section=section,
            order=210,
            emailable=False,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=FOLLOWED_MAIL,
            label=_("Email on a record I follow"),
            help_text=_("Mail received or sent on it, or on a record of an account I follow."),
            section=section,
            order=220,
            default=Level.EMAIL,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=MAIL_BOUNCED,
            label=_("An email I sent bounced"),
            help_text=_("Once per email, with the address it did not reach and why."),
            section=section,
            order=230,
        )
    )
