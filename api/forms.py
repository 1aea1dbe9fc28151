"""The form of a new API key (the user's profile)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    expires_at = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the key never expires."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "read_only"]

    def clean_expires_at(self):
        day = self.cleaned_data.get("expires_at")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."), code="past")
        return day

    def expiry(self):
        """The expiry as the start of the chosen day in the current time zone, or None."""
        day = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
