"""Stored message codes of the webhooks (rendered in the reader's language)."""

from django.utils.translation import gettext_lazy as _

from crm.messages import message_define

ENDPOINT_DISABLED = message_define(
    "webhooks.disabled",
    _("The webhook “{name}” failed for a day and was turned off: {error}"),
)
