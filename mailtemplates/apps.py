from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailTemplatesConfig(AppConfig):
    name = "mailtemplates"
    verbose_name = _("Email templates")

    def ready(self) -> None:
        from mailboxes.inbox.navigation import emails_link_register
        from mailboxes.sending.compose_tools import compose_files_register, compose_tool_register
        from mailtemplates.attachments import COMPOSE_FIELD, compose_template_files

        emails_link_register(label=_("Email templates"), url_name="mailtemplates:list", order=40)
        compose_tool_register(name="templates", template="mailtemplates/_compose_picker.html")
        compose_files_register(field=COMPOSE_FIELD, resolve=compose_template_files)
