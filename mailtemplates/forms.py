"""The email template form; its body uses the compose editor (static/js/compose.js)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailboxes.html_text import html_to_text
from mailboxes.sending.compose import check_header_value, text_to_html
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.forms import MultipleFileField
from mailtemplates.access import can_manage_template, teams_for, visibilities_for
from mailtemplates.attachments import (
    attachments_size_ok,
    template_attachments_add,
    template_attachments_remove,
)
from mailtemplates.models import EmailTemplate


class EmailTemplateForm(forms.ModelForm):
    """Name, category, subject, body and sharing. ``body`` is the plain-text fallback; with
    JavaScript the editor sends ``body_html`` and ``body_format=html`` (the compose fields)."""

    body = forms.CharField(
        label=_("Body"), required=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    body_html = forms.CharField(required=False, widget=forms.HiddenInput)
    body_format = forms.CharField(required=False, widget=forms.HiddenInput)
    attachments = MultipleFileField(
        label=_("Attach files"),
        required=False,
        help_text=_("Added to the email when the template is inserted."),
    )
    remove_attachments = forms.TypedMultipleChoiceField(
        label=_("Remove files"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EmailTemplate
        fields = ["name", "category", "subject", "visibility", "teams"]
        widgets = {"teams": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        allowed = visibilities_for(user)
        self.fields["visibility"].choices = [
            (value, label) for value, label in EmailTemplate.Visibility.choices if value in allowed
        ]
        self.fields["teams"].queryset = teams_for(user)
        self.fields["teams"].help_text = _("Who may use it when it is shared with teams.")
        self.fields["category"].widget.attrs["list"] = "template-categories"
        stored = list(self.instance.attachments.all()) if self.instance.pk else []
        self.fields["remove_attachments"].choices = [(a.pk, a.filename) for a in stored]
        if not self.is_bound:
            html = self.instance.body_html
            self.initial.update(
                body=html_to_text(html) if html else "", body_html=html, body_format="html"
            )

    def clean_attachments(self) -> list:
        uploads = self.cleaned_data.get("attachments") or []
        for upload in uploads:
            try:
                check_header_value(upload.name or "", field="attachments")
            except SendError as exc:
                raise forms.ValidationError(str(exc), code=exc.code) from None
        drop = self.data.getlist("remove_attachments") if hasattr(self.data, "getlist") else []
        drop_ids = [int(pk) for pk in drop if str(pk).isdigit()]
        if not attachments_size_ok(self.instance, uploads, drop_ids):
            raise forms.ValidationError(_("The attachments are too large to send."))
        return uploads

    def save(self, commit: bool = True) -> EmailTemplate:
        """Save the template with its files: the new uploads added, the ticked ones removed."""
        template = super().save(commit=commit)
        template_attachments_remove(template, self.cleaned_data.get("remove_attachments") or [])
        template_attachments_add(template, self.cleaned_data.get("attachments") or [])
        return template

    def clean(self):
        cleaned = super().clean()
        visibility = cleaned.get("visibility")
        teams = cleaned.get("teams")
        if visibility == EmailTemplate.Visibility.TEAMS and teams is not None and not teams:
            self.add_error("teams", _("Choose the teams that may use it."))
        if visibility != EmailTemplate.Visibility.TEAMS:
            cleaned["teams"] = teams.none() if teams is not None else teams
        if cleaned.get("body_format") == "html":
            html = cleaned.get("body_html", "")
        else:
            html = text_to_html(cleaned.get("body", ""))
        self.instance.body_html = html  # sanitized when saved (EmailTemplate.save)
        if visibility and not self.errors:
            self.instance.visibility = visibility
            team_ids = {team.pk for team in cleaned.get("teams") or []}
            if not can_manage_template(self.user, self.instance, team_ids):
                raise forms.ValidationError(_("You may not share this template that way."))
        return cleaned
