"""Forms for mail accounts; passwords are write-only (never rendered back)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailboxes.models import GroupEmailAccount, PersonalEmailAccount

SECRET_FIELDS = ("imap_password", "smtp_password")


class SecretFieldsMixin:
    """Password inputs start empty; leaving one empty keeps the stored secret."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if name in self.fields:
                self.fields[name] = forms.CharField(
                    label=self.fields[name].label,
                    required=False,
                    strip=False,
                    widget=forms.PasswordInput(
                        render_value=False, attrs={"autocomplete": "new-password"}
                    ),
                    help_text=_("Leave empty to keep the stored password.")
                    if self.instance.pk
                    else "",
                )

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if name in self.fields and not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class GroupEmailAccountAdminForm(SecretFieldsMixin, forms.ModelForm):
    class Meta:
        model = GroupEmailAccount
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields


class PersonalEmailAccountAdminForm(SecretFieldsMixin, forms.ModelForm):
    class Meta:
        model = PersonalEmailAccount
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields
