"""The endpoint form of the Webhooks administration page."""

from __future__ import annotations

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Team
from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.models import GroupEmailAccount
from webhooks.models import WebhookEndpoint
from webhooks.sending import url_check

EVENT_CHOICES = [
    ("email.received", _("An email was received")),
    ("email.sent", _("An email was sent")),
    ("email.failed", _("An email could not be sent")),
    ("case.created", _("A case was created")),
    ("case.updated", _("A case was changed")),
    ("case.assigned", _("A case was assigned")),
    ("note.created", _("A note was posted")),
]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=200,
        help_text=_("Signs every delivery. Leave empty to keep it (a new webhook gets one)."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "group_account", "team", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group_account"].queryset = GroupEmailAccount.objects.order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["url"].help_text = _(
            "Deliveries are POSTed here as JSON. Addresses in private networks are refused."
        )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter an http or https URL."), code="scheme")
        try:
            url_check(url)
        except MailHostNotAllowed as exc:
            raise forms.ValidationError(str(exc), code="private") from exc
        except MailConnectionError as exc:
            raise forms.ValidationError(str(exc), code="dns") from exc
        return url

    def save(self, commit: bool = True) -> WebhookEndpoint:
        endpoint = super().save(commit=False)
        secret = self.cleaned_data.get("secret")
        if secret:
            endpoint.secret = secret
        elif not endpoint.secret:
            endpoint.secret = secrets.token_urlsafe(32)
        if endpoint.is_active:
            endpoint.failing_since = None  # turned on again: a fresh start
        if commit:
            endpoint.save()
        return endpoint
