"""The email template form; its body uses the compose editor (static/js/compose.js)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailboxes.html_text import html_to_text
from mailboxes.sending.compose import text_to_html
from mailtemplates.access import can_manage_template, teams_for, visibilities_for
from mailtemplates.models import EmailTemplate


class EmailTemplateForm(forms.ModelForm):
    """Name, category, subject, body and sharing. ``body`` is the plain-text fallback; with
    JavaScript the editor sends ``body_html`` and ``body_format=html`` (the compose fields)."""

    body = forms.CharField(
        label=_("Body"), required=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    body_html = forms.CharField(required=False, widget=forms.HiddenInput)
    body_format = forms.CharField(required=False, widget=forms.HiddenInput)

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
        if not self.is_bound:
            html = self.instance.body_html
            self.initial.update(
                body=html_to_text(html) if html else "", body_html=html, body_format="html"
            )

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
