from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = _("Mailboxes")
    periodic_jobs = [
        ("Poll group email accounts", "mailboxes.poll_group_accounts", 60),
        ("Poll personal email accounts", "mailboxes.poll_personal_accounts", 60),
        ("Send hourly notification digests", "mailboxes.send_hourly_digests", 60 * 60),
        ("Send daily notification digests", "mailboxes.send_daily_digests", 24 * 60 * 60),
    ]
