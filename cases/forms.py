"""Case forms: the generic record form, with the case's own fields; the group account
form's Email-to-case and Auto-reply panels."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases.models import Case, GroupAccountCases
from crm.forms import RecordForm
from crm.teams import position_normalize, team_positions


class CaseForm(RecordForm):
    class Meta:
        model = Case
        fields = [
            "name",
            "status",
            "priority",
            "type",
            "account",
            "contact",
            "lead",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}


CASE_PANEL_FIELDS = (
    "create_case",
    "target_team",
    "case_distribution",
    "target_team_role",
    "reopen_case_on_reply",
)
AUTO_REPLY_PANEL_FIELDS = (
    "auto_reply",
    "auto_reply_subject",
    "auto_reply_body",
    "auto_reply_from_name",
    "auto_reply_from_address",
    "auto_reply_reply_to",
    "auto_reply_signature",
    "auto_reply_sender_limit",
    "auto_reply_case_limit",
    "auto_reply_period_minutes",
)
PANEL_HELP = _("These settings are used by email-to-case and auto-reply.")
# The group account form's panels (mailboxes.forms.account_form_panel_register).
GROUP_ACCOUNT_PANELS = (
    ("case", _("Email-to-case"), CASE_PANEL_FIELDS, PANEL_HELP),
    ("auto_reply", _("Auto-reply"), AUTO_REPLY_PANEL_FIELDS, PANEL_HELP),
)


def group_account_summary(account) -> list[tuple[str, bool]]:
    """What the group account's page says of cases and auto-replies."""
    from cases.account_settings import case_settings_of

    own = case_settings_of(account)
    return [(_("Create cases"), own.create_case), (_("Auto-reply"), own.auto_reply)]


class GroupAccountCasesForm(forms.ModelForm):
    """A group account's email-to-case and auto-reply settings, shown in its form."""

    class Meta:
        model = GroupAccountCases
        fields = [*CASE_PANEL_FIELDS, *AUTO_REPLY_PANEL_FIELDS]
        widgets = {"auto_reply_body": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            # The placeholders cases/auto_reply.py fills (a test keeps the two in step).
            "auto_reply_subject": _(
                "Placeholders: {case_number}, {case_subject}, {customer_name}, {account_name}, "
                "{mailbox_name}, {email_subject}. Left empty: “Re:” and the customer's subject. "
                "The case number is always added."
            ),
            "auto_reply_body": _(
                "Placeholders: {case_number} (e.g. [#123]), {case_subject}, {customer_name} "
                "(their contact or lead, else the sender's name), {customer_email}, "
                "{account_name} (the customer's company), {mailbox_name}, {email_subject}, "
                "{assigned_user}. Left empty, a short acknowledgement in the site language is "
                "sent."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._role_picker()

    def _role_team_id(self) -> int | None:
        """The target team the role is picked in: as posted, else as stored."""
        if self.is_bound:
            value = self.data.get("target_team")
        else:
            value = self.initial.get("target_team", self.instance.target_team_id)
        value = getattr(value, "pk", value)
        return int(value) if str(value or "").isdigit() else None

    def _role_picker(self) -> None:
        """ "Target user role" is picked from the roles members hold in the target team (a
        role typed by hand that nobody holds would leave every case unassigned). Choosing
        another team reloads the choices (htmx: ``mailboxes:group-account-roles``)."""
        team_id = self._role_team_id()
        self.team_positions = team_positions([team_id]).get(team_id, []) if team_id else []
        choices = [("", _("Any member of the team"))]
        choices += [(position, position) for position in self.team_positions]
        stored = self.instance.target_team_role
        if stored and stored.casefold() not in {p.casefold() for p in self.team_positions}:
            choices.append((stored, _("%(role)s (nobody in the team has it)") % {"role": stored}))
        field = self.fields["target_team_role"]
        # a CharField: clean_target_team_role checks the role against the posted team
        self.fields["target_team_role"] = forms.CharField(
            label=field.label,
            required=False,
            widget=forms.Select(choices=choices),
            help_text=_("Only members of the target team with this role in it get cases."),
        )
        self.fields["target_team"].widget.attrs.update(
            {
                "hx-get": reverse("mailboxes:group-account-roles"),
                "hx-trigger": "change",
                "hx-target": "#id_target_team_role",
                "hx-select": "#id_target_team_role",
                "hx-swap": "outerHTML",
            }
        )

    def clean_target_team_role(self) -> str:
        role = position_normalize(self.cleaned_data.get("target_team_role") or "")
        if not role:
            return ""
        team = self.cleaned_data.get("target_team")
        if team is None:
            raise ValidationError(_("Choose the target team first."), code="no_team")
        spelled = {p.casefold(): p for p in team_positions([team.pk]).get(team.pk, [])}
        if role.casefold() not in spelled:
            raise ValidationError(
                _("Nobody in team “%(team)s” has the role “%(role)s”."),
                code="unknown_role",
                params={"team": team, "role": role},
            )
        return spelled[role.casefold()]
