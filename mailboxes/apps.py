from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

CRM_EMAIL_PARENTS = {
    "account": "crm.Account",
    "contact": "crm.Contact",
    "lead": "crm.Lead",
    "opportunity": "crm.Opportunity",
}


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = _("Mailboxes")
    periodic_jobs = [
        (gettext_noop("Poll group email accounts"), "mailboxes.poll_group_accounts", 60),
        (gettext_noop("Poll personal email accounts"), "mailboxes.poll_personal_accounts", 60),
        (gettext_noop("Recover stuck outgoing email"), "mailboxes.sending_recover", 300),
        (gettext_noop("Index emails for search"), "mailboxes.search_index_missing", 60),
        # scheduled emails leave within this many seconds of their time, restarts or not
        (gettext_noop("Send scheduled emails"), "mailboxes.send_scheduled_emails", 15),
        (
            gettext_noop("Send hourly notification digests"),
            "mailboxes.send_hourly_digests",
            60 * 60,
        ),
        (
            gettext_noop("Send daily notification digests"),
            "mailboxes.send_daily_digests",
            24 * 60 * 60,
        ),
    ]

    def ready(self) -> None:
        from crm.administration.menu import admin_link_register
        from mailboxes import messages  # noqa: F401  (message codes)
        from mailboxes.access import register_mail_permissions
        from mailboxes.inbox.navigation import emails_link_register
        from mailboxes.linking.parents import email_parent_register
        from mailboxes.notes import email_notes  # noqa: F401  (note kinds)
        from mailboxes.notification_reasons import register_notification_reasons

        # crm's records take mail; crm knows no mail, so mailboxes registers them for it
        for name, label in CRM_EMAIL_PARENTS.items():
            email_parent_register(name, label)

        register_mail_permissions()
        self._register_signature_panel()
        register_notification_reasons()

        email = _("Email")
        admin_link_register(
            group=email,
            label=_("Group Email Accounts"),
            url_name="mailboxes:group-account-list",
            description=_("Shared mailboxes such as support@: teams, cases, auto-reply."),
            order=200,
        )
        admin_link_register(
            group=email,
            label=_("Personal Email Accounts"),
            url_name="mailboxes:admin-personal-account-list",
            description=_("Every user's own mailboxes, with their fetch health."),
            order=210,
        )
        admin_link_register(
            group=email,
            label=_("Group Email Folders"),
            url_name="mailboxes:group-folder-list",
            description=_("Shared folders; members of their teams see the emails in them."),
            order=220,
        )
        admin_link_register(
            group=email,
            label=_("Email providers"),
            url_name="mailboxes:oauth-provider-list",
            description=_("Sign in with Google or Microsoft 365 (OAuth 2.0): apps and secrets."),
            order=225,
        )
        admin_link_register(
            group=email,
            label=_("Email Quarantine"),
            url_name="mailboxes:quarantine",
            description=_("Messages that could not be imported, with Retry."),
            order=230,
        )
        emails_link_register(
            label=_("Personal Email Accounts"), url_name="mailboxes:personal-account-list", order=10
        )
        emails_link_register(label=_("Folders"), url_name="mailboxes:folder-manage", order=20)
        emails_link_register(label=_("Quarantine"), url_name="mailboxes:quarantine", order=90)

    @staticmethod
    def _register_signature_panel() -> None:
        """The user's email signature on their preferences page."""
        from crm.preferences import PreferencePanel, preference_panel_register

        preference_panel_register(
            PreferencePanel(
                slug="signature",
                title=_("Email signature"),
                # by import path: forms load with the page, not in a fetch
                form_class="mailboxes.forms.UserSignatureForm",
                instance_of="mailboxes.forms.user_signature_row",
                assets_template="mailboxes/_editor_html_field.html",
            )
        )
