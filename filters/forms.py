"""The filter form: the fields of one scope, and the actions that scope allows."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin
from filters.models import EmailFilter
from mailboxes.models import EmailFolder, GroupEmailAccount, GroupEmailFolder, PersonalEmailAccount

Action = EmailFilter.Action
Scope = EmailFilter.Scope

# What each action means, said for the scope it runs in.
ACTION_LABELS = {
    (Scope.GLOBAL, Action.SKIP): _("Skip: don't import the email"),
    (Scope.GROUP_ACCOUNT, Action.SKIP): _("Skip: don't import the email"),
    (Scope.PERSONAL_ACCOUNT, Action.SKIP): _("Skip: don't import the email"),
    (Scope.GROUP_ACCOUNT, Action.MOVE_TO_GROUP_FOLDER): _("Move to a group folder"),
    (Scope.USER_INBOX, Action.SKIP): _("Move to Trash (only in this inbox; others still see it)"),
    (Scope.USER_INBOX, Action.MOVE_TO_FOLDER): _("Move to a folder"),
    (Scope.USER_INBOX, Action.NONE): _("Leave in Inbox"),
}

# Fields that only some scopes have; the rest are common to all.
SCOPE_FIELDS = {
    Scope.GLOBAL: (),
    Scope.GROUP_ACCOUNT: ("group_account", "group_folder"),
    Scope.PERSONAL_ACCOUNT: ("personal_account",),
    Scope.USER_INBOX: ("folder", "new_folder", "mark_as_read", "no_notification"),
}
PLACEMENT_FIELDS = ("group_account", "personal_account")
_SCOPED_FIELDS = {name for names in SCOPE_FIELDS.values() for name in names}


class PhrasesField(forms.CharField):
    """A list of phrases, edited one per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class EmailFilterForm(forms.ModelForm):
    """Edit one filter of a fixed scope (the scope and owner are set by the view).

    Only the fields of that scope are present, and only its actions are offered. The model's
    own validation runs in ``filters.services.filter_save`` (or before a dry run); its errors
    come back to the form with :meth:`add_model_errors`.
    """

    body_contains_any = PhrasesField(
        label=_("Body contains any of"),
        required=False,
        help_text=_("One phrase per line; matches when the body contains at least one of them."),
    )
    body_contains_all = PhrasesField(
        label=_("Body contains all of"),
        required=False,
        help_text=_("One phrase per line; matches when the body contains every one of them."),
    )
    new_folder = forms.CharField(
        label=_("Or a new folder"),
        required=False,
        max_length=100,
        help_text=_("Type a name to create a folder and move matching emails into it."),
    )

    class Meta:
        model = EmailFilter
        fields = (
            "name",
            "is_active",
            "personal_account",
            "group_account",
            "from_pattern",
            "to_pattern",
            "subject_pattern",
            "body_contains_any",
            "body_contains_all",
            "action",
            "folder",
            "group_folder",
            "mark_as_read",
            "no_notification",
        )
        labels = {
            "is_active": _("Active"),
            "from_pattern": _("From"),
            "to_pattern": _("To or Cc"),
            "subject_pattern": _("Subject"),
            "folder": _("Folder"),
            "group_folder": _("Group folder"),
            "personal_account": _("Personal email account"),
            "group_account": _("Group email account"),
            "mark_as_read": _("Mark as read"),
            "no_notification": _("No notification"),
        }
        help_texts = {
            "from_pattern": _(
                "The sender's address. * stands for any characters: *@example.com matches "
                "everyone at example.com."
            ),
            "to_pattern": _(
                "Matches when any To or Cc address fits, e.g. sales@* or *@example.com."
            ),
            "subject_pattern": _(
                "Compared with the whole subject: “invoice” matches only the subject "
                "“Invoice”, “*invoice*” matches it anywhere. Capitals don't matter."
            ),
            "folder": _("Used with “Move to a folder”."),
            "group_folder": _(
                "Used with “Move to a group folder”; the folder's teams will see the email."
            ),
            "mark_as_read": _("Matching emails arrive already read."),
            "no_notification": _("Don't notify about matching emails."),
        }
        widgets = {"action": forms.RadioSelect}

    def __init__(self, *args, user, dry_run: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        obj: EmailFilter = self.instance
        scope = obj.scope
        keep = set(SCOPE_FIELDS[scope])
        if obj.pk is not None:
            keep -= set(PLACEMENT_FIELDS)  # where a filter applies is fixed once it exists
        for name in [n for n in self.fields if n in _SCOPED_FIELDS and n not in keep]:
            del self.fields[name]

        allowed = EmailFilter.ALLOWED_ACTIONS[scope]
        self.fields["action"].choices = [(a, ACTION_LABELS[(scope, a)]) for a in allowed]
        if dry_run:
            self.fields["name"].required = False  # a dry run needs no name yet
        if "personal_account" in self.fields:
            # Even administrators file account filters here only for their own accounts;
            # other people's are reached from the Administration list once they exist.
            field = self.fields["personal_account"]
            field.queryset = PersonalEmailAccount.objects.filter(owner=user).order_by("name")
            field.required, field.empty_label = True, None
        if "group_account" in self.fields:
            field = self.fields["group_account"]
            field.queryset = GroupEmailAccount.objects.order_by("name")
            field.required, field.empty_label = True, None
            if not is_admin(user):
                field.queryset = field.queryset.none()
        if "group_folder" in self.fields:
            self.fields["group_folder"].queryset = GroupEmailFolder.objects.all()
        if "folder" in self.fields:
            # The folders of the inbox's owner (an administrator may edit someone's filter).
            self.fields["folder"].queryset = EmailFolder.objects.filter(user_id=obj.user_id)

    @property
    def criteria_fields(self) -> list:
        return [
            self[name]
            for name in (
                "from_pattern",
                "to_pattern",
                "subject_pattern",
                "body_contains_any",
                "body_contains_all",
            )
        ]

    @property
    def option_fields(self) -> list:
        names = ("folder", "new_folder", "group_folder", "mark_as_read", "no_notification")
        return [self[name] for name in names if name in self.fields]

    @property
    def placement_field(self):
        for name in PLACEMENT_FIELDS:
            if name in self.fields:
                return self[name]
        return None

    def clean_new_folder(self) -> str:
        return " ".join(self.cleaned_data.get("new_folder", "").split())

    def _post_clean(self) -> None:
        # Copy the values onto the filter, but leave validation to the model's clean() run by
        # the services: it reports on fields this form may not have, which a ModelForm refuses.
        opts = self._meta
        try:
            self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        except ValidationError as exc:
            self.add_model_errors(exc)

    def add_model_errors(self, exc: ValidationError) -> None:
        """Show the model's validation errors on their fields, or above the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            if field == "folder" and self.cleaned_data.get("new_folder"):
                field = "new_folder"
            target = field if field in self.fields and field != NON_FIELD_ERRORS else None
            for error in errors:
                self.add_error(target, error)
