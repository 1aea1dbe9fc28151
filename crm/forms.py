"""Forms of the record screens, the stream and the user's preferences."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalize_address
from crm.models import Account, Contact, Lead, Opportunity, Record, Team, User
from crm.notification_reasons import Level, levels_with_defaults, notification_reasons


class EmailAddressesField(forms.CharField):
    """Addresses one per line (commas and semicolons work too); the first one is primary."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Email addresses"))
        kwargs.setdefault("help_text", _("One per line; the first one is the primary address."))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        parts = [p.strip() for p in text.replace(",", "\n").replace(";", "\n").splitlines()]
        return [p for p in parts if p]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        bad = []
        for raw in value:
            try:
                validate_email(normalize_address(raw) or raw)
            except ValidationError:
                bad.append(raw)
        if bad:
            raise ValidationError(
                _("Not a valid email address: %(addresses)s"),
                code="invalid",
                params={"addresses": ", ".join(bad)},
            )

    def clean(self, value) -> list[str]:
        addresses = super().clean(value)
        return list(dict.fromkeys(normalize_address(a) for a in addresses))


def _visible_with_current(model: type[Record], user: User, current_id: int | None):
    """Records of ``model`` the user can see, plus the one already chosen (kept on save)."""
    queryset = model.objects.visible_to(user)
    if current_id:
        queryset = model.objects.filter(Q(pk__in=queryset.values("pk")) | Q(pk=current_id))
    return queryset


class RecordForm(forms.ModelForm):
    """Base of the record forms: only offers what ``user`` may pick, edits addresses."""

    has_addresses = False

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if "assigned_user" in self.fields:
            self.fields["assigned_user"].queryset = User.objects.filter(
                Q(is_active=True) | Q(pk=self.instance.assigned_user_id or 0)
            ).order_by("first_name", "last_name", "username")
            if not self.instance.pk:
                self.initial.setdefault("assigned_user", user.pk)
        if "teams" in self.fields:
            self.fields["teams"].queryset = Team.objects.all()
            self.fields["teams"].widget = forms.CheckboxSelectMultiple()
            self.fields["teams"].widget.choices = self.fields["teams"].choices
            if not self.instance.pk and user.default_team_id:
                self.initial.setdefault("teams", [user.default_team_id])
        for name, field in self.fields.items():
            model = getattr(getattr(field, "queryset", None), "model", None)
            if model is not None and issubclass(model, Record):
                field.queryset = _visible_with_current(
                    model, user, getattr(self.instance, f"{name}_id", None)
                )
        if self.has_addresses:
            self.fields["email_addresses"] = EmailAddressesField()
            if self.instance.pk:
                self.initial["email_addresses"] = self.instance.email_addresses
            self.order_fields(self.field_order)

    @property
    def addresses(self) -> list[str] | None:
        return self.cleaned_data.get("email_addresses") if self.has_addresses else None


class AccountForm(RecordForm):
    has_addresses = True
    website = forms.URLField(
        label=capfirst(Account._meta.get_field("website").verbose_name),
        max_length=200,
        required=False,
        assume_scheme="https",
    )
    field_order = [
        "name",
        "type",
        "industry",
        "website",
        "email_addresses",
        "phone",
        "billing_address",
        "description",
        "assigned_user",
        "teams",
    ]

    class Meta:
        model = Account
        fields = [
            "name",
            "type",
            "industry",
            "website",
            "phone",
            "billing_address",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {
            "billing_address": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }


class ContactForm(RecordForm):
    has_addresses = True
    field_order = [
        "salutation",
        "first_name",
        "last_name",
        "account",
        "title",
        "email_addresses",
        "phone",
        "description",
        "assigned_user",
        "teams",
    ]

    class Meta:
        model = Contact
        fields = [
            "salutation",
            "first_name",
            "last_name",
            "account",
            "title",
            "phone",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class LeadForm(RecordForm):
    has_addresses = True
    field_order = [
        "salutation",
        "first_name",
        "last_name",
        "account_name",
        "title",
        "status",
        "source",
        "email_addresses",
        "phone",
        "description",
        "assigned_user",
        "teams",
    ]

    class Meta:
        model = Lead
        fields = [
            "salutation",
            "first_name",
            "last_name",
            "account_name",
            "title",
            "status",
            "source",
            "phone",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.status != Lead.Status.CONVERTED:
            # "Converted" is reached through the Convert action, which creates the records.
            self.fields["status"].choices = [
                choice
                for choice in self.fields["status"].choices
                if choice[0] != Lead.Status.CONVERTED
            ]


class OpportunityForm(RecordForm):
    class Meta:
        model = Opportunity
        fields = [
            "name",
            "account",
            "contact",
            "stage",
            "amount",
            "close_date",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {
            "close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
        }


class LeadConvertForm(forms.Form):
    """What a lead becomes: a Contact always, an Account (new or existing), an Opportunity."""

    account_name = forms.CharField(
        label=_("New account"),
        max_length=255,
        required=False,
        help_text=_("Creates an account with this name."),
    )
    account = forms.ModelChoiceField(
        label=_("Or an existing account"), queryset=Account.objects.none(), required=False
    )
    opportunity_name = forms.CharField(
        label=_("Opportunity"),
        max_length=255,
        required=False,
        help_text=_("Leave empty to create no opportunity."),
    )
    opportunity_amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, required=False
    )
    opportunity_close_date = forms.DateField(
        label=_("Close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, user: User, lead: Lead, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.visible_to(user)
        self.initial.setdefault("account_name", lead.account_name)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("account") and data.get("account_name"):
            raise ValidationError(
                _("Choose either a new account or an existing one, not both."), code="both"
            )
        return data


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Write a post"),
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Write a post… (@username tells a colleague)")}
        ),
        max_length=20000,
        error_messages={"required": _("Write something before posting.")},
    )


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone the server knows, after "the server's" (empty)."""
    return [("", _("Server time zone")), *((z, z) for z in sorted(zoneinfo.available_timezones()))]


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("time zone"),
        choices=time_zone_choices,
        required=False,
        help_text=_("Times are shown and chosen in this zone; empty: the server's."),
    )

    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "email",
            "title",
            "phone",
            "language",
            "time_zone",
            "notification_digest",
        ]
        help_texts = {
            "notification_digest": _(
                "Unread notifications are also sent to your email address this often."
            )
        }


class NotificationLevelsForm(forms.Form):
    """A level (off, bell, bell and email) per notification reason, for a user or a team.

    ``choices`` are the stored ones (code → level); reasons missing from it show their default.
    """

    level_choices = Level.choices

    def __init__(self, *args, choices: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.current = levels_with_defaults(choices or {})
        self.reasons = notification_reasons()
        for reason in self.reasons:
            self.fields[reason.code] = forms.ChoiceField(
                label=reason.label,
                help_text=reason.help_text,
                choices=reason.levels,
                initial=self.current[reason.code],
                widget=forms.RadioSelect,
                required=False,  # a reason left out of the post keeps its level
            )

    def sections(self) -> list[tuple[str, list]]:
        """(section, [(reason, bound field), ...]) in the order the reasons are registered."""
        grouped: dict[str, list] = {}
        for reason in self.reasons:
            grouped.setdefault(reason.section, []).append((reason, self[reason.code]))
        return list(grouped.items())

    def levels(self) -> dict[str, str]:
        return {
            reason.code: self.cleaned_data[reason.code] or self.current[reason.code]
            for reason in self.reasons
        }


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        choices=[("", _("Browser default")), *User._meta.get_field("language").choices]
    )
