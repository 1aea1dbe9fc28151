"""Forms of the Administration pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.forms import inlineformset_factory
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.validators import (
    day_of_month_validator,
    day_of_week_validator,
    hour_validator,
    minute_validator,
    month_of_year_validator,
)

from crm.models import Role, Team, TeamMembership, User
from crm.permissions import GENERAL, RECORD_ACCESS, permissions, permissions_in

USER_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_superuser",
    "roles",
    "default_team",
    "language",
    "notification_digest",
]


class UserForm(forms.ModelForm):
    """Create or edit a user; a password is required on create, optional on edit."""

    password1 = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )

    class Meta:
        model = User
        fields = USER_FIELDS
        labels = {"is_superuser": _("Administrator"), "is_active": _("Active")}
        help_texts = {
            "is_superuser": _("Administrators see every record and the Administration pages."),
            "is_active": _("Inactive users cannot log in."),
            "roles": _("Roles given through the user's teams apply as well."),
        }
        widgets = {"roles": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        if not self.instance.pk:
            self.fields["password1"].required = True
            self.fields["password2"].required = True
        else:
            self.fields["password1"].label = _("New password")
            self.fields["password1"].help_text = _("Leave empty to keep the current password.")
            self.fields["password2"].label = _("New password again")

    def clean(self) -> dict:
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 or password2:
            if password1 != password2:
                self.add_error("password2", _("The two passwords do not match."))
            else:
                user = self.instance
                for name in ("username", "first_name", "last_name", "email"):
                    if name in data:
                        setattr(user, name, data[name])
                try:
                    validate_password(password1, user)
                except ValidationError as error:
                    self.add_error("password1", error)
        return data

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        if self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        user.is_staff = user.is_superuser  # the Django admin follows the administrator flag
        if commit:
            user.save()
            self.save_m2m()
        return user


# "Role in team" suggests the roles that exist (templates/administration/_membership_formset.html
# renders the list), so the same role is not typed two ways.
POSITION_WIDGET = forms.TextInput(attrs={"list": "team-positions", "autocomplete": "off"})

UserMembershipFormSet = inlineformset_factory(
    User,
    TeamMembership,
    fk_name="user",
    fields=["team", "position"],
    extra=2,
    can_delete=True,
    labels={"team": _("Team"), "position": _("Role in team")},
    widgets={"position": POSITION_WIDGET},
)


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "roles"]
        widgets = {"roles": forms.CheckboxSelectMultiple}


TeamMembershipFormSet = inlineformset_factory(
    Team,
    TeamMembership,
    fk_name="team",
    fields=["user", "position"],
    extra=3,
    can_delete=True,
    labels={"user": _("User"), "position": _("Role in team")},
    widgets={"position": POSITION_WIDGET},
)


class RoleForm(forms.ModelForm):
    """A role's name and one field per registered permission (``crm.permissions``)."""

    class Meta:
        model = Role
        fields = ["name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for permission in permissions().values():
            if permission.is_switch:
                field = forms.BooleanField(required=False)
            else:
                field = forms.ChoiceField(choices=permission.choices)
            field.label = capfirst(permission.label)
            field.help_text = permission.help_text
            field.initial = self.instance.permission(permission.name)
            self.fields[permission.name] = field

    def fields_in(self, section: str) -> list[forms.BoundField]:
        return [self[permission.name] for permission in permissions_in(section)]

    @property
    def general_fields(self) -> list[forms.BoundField]:
        return self.fields_in(GENERAL)

    @property
    def access_fields(self) -> list[forms.BoundField]:
        return self.fields_in(RECORD_ACCESS)

    def save(self, commit: bool = True) -> Role:
        self.instance.permissions = {
            **(self.instance.permissions or {}),
            **{name: self.cleaned_data[name] for name in permissions()},
        }
        return super().save(commit=commit)


class JobForm(forms.Form):
    """A scheduled job's switch and schedule: every N units, or a crontab expression."""

    KIND_INTERVAL = "interval"
    KIND_CRONTAB = "crontab"

    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    kind = forms.ChoiceField(
        label=_("Schedule"),
        choices=[(KIND_INTERVAL, _("Every …")), (KIND_CRONTAB, _("Crontab"))],
        widget=forms.RadioSelect,
    )
    every = forms.IntegerField(label=_("Every"), min_value=1, required=False)
    period = forms.ChoiceField(
        label=_("Unit"),
        choices=[
            (IntervalSchedule.SECONDS, _("seconds")),
            (IntervalSchedule.MINUTES, _("minutes")),
            (IntervalSchedule.HOURS, _("hours")),
            (IntervalSchedule.DAYS, _("days")),
        ],
        required=False,
    )
    minute = forms.CharField(
        label=_("Minute"), initial="*", validators=[minute_validator], required=False
    )
    hour = forms.CharField(
        label=_("Hour"), initial="*", validators=[hour_validator], required=False
    )
    day_of_month = forms.CharField(
        label=_("Day of month"), initial="*", validators=[day_of_month_validator], required=False
    )
    month_of_year = forms.CharField(
        label=_("Month"), initial="*", validators=[month_of_year_validator], required=False
    )
    day_of_week = forms.CharField(
        label=_("Day of week"), initial="*", validators=[day_of_week_validator], required=False
    )

    CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")

    @classmethod
    def initial_for(cls, task: PeriodicTask) -> dict:
        initial: dict = {"enabled": task.enabled, "kind": cls.KIND_INTERVAL}
        if task.interval_id:
            initial.update(every=task.interval.every, period=task.interval.period)
        elif task.crontab_id:
            initial["kind"] = cls.KIND_CRONTAB
            initial.update({name: getattr(task.crontab, name) for name in cls.CRON_FIELDS})
        return initial

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == self.KIND_INTERVAL:
            if not data.get("every"):
                self.add_error("every", _("How often should the job run?"))
            if not data.get("period"):
                self.add_error("period", _("This field is required."))
        elif data.get("kind") == self.KIND_CRONTAB:
            for name in self.CRON_FIELDS:
                if name in data and not data[name]:
                    data[name] = "*"
        return data

    def schedule(self) -> dict:
        """Keyword arguments for :func:`crm.administration.jobs.job_set_schedule`."""
        data = self.cleaned_data
        if data["kind"] == self.KIND_INTERVAL:
            return {"interval": (data["every"], data["period"])}
        return {"crontab": {name: data[name] for name in self.CRON_FIELDS}}
