"""Forms for mail accounts, folders and the Emails screens.

Passwords are write-only: never rendered back, and an empty password field keeps the stored
one (also for "Test connection" on an edited, unsaved form).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Team, User
from mailboxes.account_panels import account_form_panels
from mailboxes.connection.hosts import check_mail_host
from mailboxes.connection.imap import ImapSettings
from mailboxes.exceptions import MailConnectionError, MailHostNotAllowed
from mailboxes.models import (
    AuthMethod,
    EmailFolder,
    GroupEmailAccount,
    GroupEmailFolder,
    MailAccount,
    OAuthFlow,
    OAuthProvider,
    PersonalEmailAccount,
    Security,
    UserSignature,
)
from mailboxes.sending.signatures import signature_clean

SECRET_FIELDS = ("imap_password", "smtp_password")
SIGNIN_FIELDS = ["auth_method", "oauth_provider", "oauth_flow"]
DEFAULT_PORTS = {
    "imap": {Security.SSL: 993, Security.STARTTLS: 143, Security.NONE: 143},
    "smtp": {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25},
}


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


# --- Account forms of the web UI ------------------------------------------------------------

IMAP_FIELDS = [
    "use_imap",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
]
FOLDER_FIELDS = [
    "monitored_folders",
    "fetch_since",
    "keep_fetched_unread",
    "store_sent_emails",
    "sent_folder",
]
SMTP_FIELDS = [
    "use_smtp",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_auth",
    "smtp_username",
    "smtp_password",
]


def _folder_names(values) -> list[str]:
    names = []
    for value in values or []:
        name = str(value).strip()
        if name and name not in names and len(name) <= 255:
            names.append(name)
    return names


class FolderPickerField(forms.MultipleChoiceField):
    """Monitored IMAP folders as checkboxes; the choices are the folders the server listed
    (carried in the form as ``known_folders``) plus those already chosen. Any folder name is
    valid: a folder the server does not have shows up as an error of the fetch."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value) -> bool:
        return bool(str(value).strip())


class MailAccountForm(SecretFieldsMixin, forms.ModelForm):
    """What group and personal account forms share: panels, folder picker, host guard."""

    known_folders = forms.CharField(widget=forms.HiddenInput, required=False)
    monitored_folders = FolderPickerField(
        label=_("Monitored folders"),
        required=False,
        help_text=_("Test the connection to list the server's folders."),
    )

    panels: list[tuple[str, list[str]]] = []

    class Meta:
        widgets = {
            "fetch_since": forms.DateInput(attrs={"type": "date"}),
            "imap_host": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "smtp_host": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "imap_username": forms.TextInput(attrs={"autocomplete": "off"}),
            "smtp_username": forms.TextInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, server_folders: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if server_folders is not None:
            self.server_folders = _folder_names(server_folders)
        else:
            self.server_folders = self._posted_known_folders()
        chosen = (
            self.data.getlist("monitored_folders")
            if self.is_bound and hasattr(self.data, "getlist")
            else self.instance.monitored_folders or ["INBOX"]
        )
        choices = _folder_names([*self.server_folders, *chosen])
        self.fields["monitored_folders"].choices = [(name, name) for name in choices]
        if not self.is_bound:
            self.initial["monitored_folders"] = _folder_names(chosen)
            self.initial["known_folders"] = json.dumps(self.server_folders)
        self.fields["sent_folder"].widget.attrs["list"] = "server-folders"
        for name in ("auth_method", "oauth_flow"):  # absent from a post: the default
            if name in self.fields:
                self.fields[name].required = False
        if "auth_method" in self.fields:
            self.fields["auth_method"].help_text = _(
                "With a provider, save and then click Connect on the account's page; no "
                "password is stored."
            )

    def _posted_known_folders(self) -> list[str]:
        if not self.is_bound:
            return []
        try:
            value = json.loads(self.data.get("known_folders") or "[]")
        except ValueError:
            return []
        return _folder_names(value) if isinstance(value, list) else []

    def set_server_folders(self, folders: list[str]) -> None:
        """After a successful connection test: offer the server's folders as choices."""
        self.server_folders = _folder_names(folders)
        current = [value for value, _label in self.fields["monitored_folders"].choices]
        self.fields["monitored_folders"].choices = [
            (name, name) for name in _folder_names([*self.server_folders, *current])
        ]
        # the hidden field renders from data when bound: keep the list for the next submit
        if self.is_bound:
            self.data = self.data.copy()
            self.data["known_folders"] = json.dumps(self.server_folders)
        else:
            self.initial["known_folders"] = json.dumps(self.server_folders)

    def clean_auth_method(self) -> str:
        return self.cleaned_data.get("auth_method") or AuthMethod.PASSWORD

    def clean_oauth_flow(self) -> str:
        return self.cleaned_data.get("oauth_flow") or OAuthFlow.AUTHORIZATION_CODE

    def suggest_oauth(self, kind: str) -> None:
        """Settings discovery's hook: an address at Google or Microsoft (``oauth_kind``)
        preselects "Sign in with" that kind's provider when one is set up."""
        provider = OAuthProvider.objects.filter(kind=kind).order_by("pk").first()
        if provider is not None and not self.is_bound:
            self.initial.update(auth_method=AuthMethod.OAUTH, oauth_provider=provider.pk)

    def _clean_oauth(self, cleaned: dict) -> None:
        """OAuth needs a provider; empty server fields take the provider's preset."""
        from mailboxes.connection.oauth import mail_servers

        provider = cleaned.get("oauth_provider")
        if provider is None:
            self.add_error("oauth_provider", _("Choose the provider to sign in with."))
            return
        if cleaned.get("oauth_flow") == OAuthFlow.CLIENT_CREDENTIALS and (
            provider.kind != OAuthProvider.Kind.MICROSOFT
        ):
            self.add_error(
                "oauth_flow", _("Only Microsoft 365 lets the app itself sign in to a mailbox.")
            )
        for name, value in mail_servers(provider.kind).items():
            if name in self.fields and not cleaned.get(name.replace("_port", "_host")):
                cleaned[name] = value

    def save(self, commit: bool = True):
        account = super().save(commit=False)
        if commit:
            account.save()
            self.save_m2m()
            self.forget_changed_grant(account)
        return account

    def forget_changed_grant(self, account) -> None:
        """A new provider, flow or method makes the stored grant useless: connect again."""
        changed = {"auth_method", "oauth_provider", "oauth_flow"} & set(self.changed_data)
        if changed and account.oauth_state:
            from mailboxes.connection.credentials import tokens_forget

            tokens_forget(account)

    def panel_list(self) -> list[tuple[str, str, list, str]]:
        """``(slug, title, bound fields, help)`` per panel, in order."""
        return [
            (slug, title, [self[name] for name in names if name in self.fields], "")
            for slug, title, names in self.panels
        ]

    def clean_monitored_folders(self) -> list[str]:
        folders = _folder_names(self.cleaned_data.get("monitored_folders"))
        if self.cleaned_data.get("use_imap", True) and not folders:
            return ["INBOX"]
        return folders

    def clean(self):
        cleaned = super().clean()
        oauth = cleaned.get("auth_method") == AuthMethod.OAUTH
        if oauth:
            self._clean_oauth(cleaned)
        if cleaned.get("use_imap"):
            if not cleaned.get("imap_host"):
                self.add_error("imap_host", _("Enter the IMAP server to fetch from."))
            if not cleaned.get("imap_password") and not oauth:
                self.add_error("imap_password", _("Enter the password of the mailbox."))
        if cleaned.get("use_smtp") and not cleaned.get("smtp_host"):
            self.add_error("smtp_host", _("Enter the SMTP server to send through."))
        for prefix in ("imap", "smtp"):
            host = (cleaned.get(f"{prefix}_host") or "").strip()
            port = cleaned.get(f"{prefix}_port")
            if host and port and not self.has_error(f"{prefix}_host"):
                try:
                    check_mail_host(host, port)
                except MailHostNotAllowed as exc:
                    self.add_error(f"{prefix}_host", ValidationError(str(exc), code=exc.code))
                except MailConnectionError:
                    pass  # a name that does not resolve today may tomorrow; the test says so
        return cleaned


# The account forms' panels, in order: ``(slug, title, field names)``. Each form edits
# exactly the fields its panels show.
GROUP_PANELS = [
    ("main", _("Main"), ["name", "email_address", "status", "from_name"]),
    ("signin", _("Sign-in"), SIGNIN_FIELDS),
    (
        "teams",
        _("Teams"),
        ["teams", "for_all_team_users", "assign_to_user", "group_folder"],
    ),
    ("imap", _("IMAP"), IMAP_FIELDS),
    ("folders", _("Folders"), FOLDER_FIELDS),
    ("smtp", _("SMTP"), [*SMTP_FIELDS, "smtp_is_shared", "exclude_from_reply"]),
    ("signature", _("Signature"), ["signature_html"]),
]
PERSONAL_PANELS = [
    ("main", _("Main"), ["name", "email_address", "status", "owner"]),
    ("signin", _("Sign-in"), SIGNIN_FIELDS[:2]),
    ("imap", _("IMAP"), IMAP_FIELDS),
    ("folders", _("Folders"), [*FOLDER_FIELDS, "put_in_folder"]),
    ("smtp", _("SMTP"), SMTP_FIELDS),
]


def _panel_fields(panels: list[tuple[str, str, list[str]]]) -> list[str]:
    return [name for _slug, _title, names in panels for name in names]


@dataclass(frozen=True)
class AccountFormPanel:
    """Panels another app adds to the group account form, editing that app's own row.

    ``form_class`` is a ModelForm of the app's one-to-one model, built with the account form's
    data and ``instance_of(account)``; ``panels`` list its fields as ``(slug, title, field
    names, help)``. Its fields keep their names in the post and in ``form[name]``.
    """

    form_class: type[forms.ModelForm]
    panels: tuple[tuple[str, Any, tuple[str, ...], Any], ...]
    instance_of: Callable[[GroupEmailAccount], models.Model]
    # ``(label, value)`` rows the account's page shows (e.g. whether cases are opened)
    summary: Callable[[GroupEmailAccount], list[tuple[Any, Any]]] | None = None
    # field → the field whose choices depend on it, reloaded on change
    # (htmx: ``mailboxes:group-account-roles``)
    dependent_fields: tuple[tuple[str, str], ...] = ()


def account_form_dependent_field(names) -> str | None:
    """The registered field that depends on one of ``names`` (the query of a reload)."""
    for panel in account_form_panels():
        for trigger, dependent in panel.dependent_fields:
            if trigger in names:
                return dependent
    return None


def account_summary_rows(account: GroupEmailAccount) -> list[tuple[Any, Any]]:
    """The registered apps' ``(label, value)`` rows for the group account's page."""
    return [
        row for panel in account_form_panels() if panel.summary for row in panel.summary(account)
    ]


class GroupEmailAccountForm(MailAccountForm):
    panels = GROUP_PANELS

    class Meta(MailAccountForm.Meta):
        model = GroupEmailAccount
        fields = _panel_fields(GROUP_PANELS)
        labels = {"signature_html": _("Signature")}
        widgets = {
            **MailAccountForm.Meta.widgets,
            "teams": forms.CheckboxSelectMultiple,
            "signature_html": forms.Textarea(
                attrs={"rows": 6, "data-rich-html": "", "data-testid": "account-signature"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assign_to_user"].queryset = User.objects.filter(is_active=True)
        self.fields["teams"].queryset = Team.objects.all()
        self.extra_forms = [
            panel.form_class(
                self.data if self.is_bound else None,
                instance=panel.instance_of(self.instance),
                initial=kwargs.get("initial"),
            )
            for panel in account_form_panels()
        ]

    def clean_signature_html(self) -> str:
        return signature_clean(self.cleaned_data.get("signature_html", ""))

    def __getitem__(self, name: str):
        if name not in self.fields:
            for extra in getattr(self, "extra_forms", ()):
                if name in extra.fields:
                    return extra[name]
        return super().__getitem__(name)

    def panel_list(self) -> list[tuple[str, str, list, str]]:
        own = super().panel_list()
        for panel, extra in zip(account_form_panels(), self.extra_forms, strict=True):
            own += [
                (slug, title, [extra[name] for name in names if name in extra.fields], help_)
                for slug, title, names, help_ in panel.panels
            ]
        return own

    def full_clean(self) -> None:
        """The added panels' errors are the form's: it is valid only when they are."""
        super().full_clean()
        if not self.is_bound:
            return
        for extra in self.extra_forms:
            for name, errors in extra.errors.items():
                self._errors.setdefault(name, self.error_class()).extend(errors)

    def save(self, commit: bool = True):
        account = super().save(commit=commit)
        if commit:
            for extra in self.extra_forms:  # rows the account's save has linked to it
                extra.save()
        return account


class PersonalEmailAccountForm(MailAccountForm):
    """A user's own mailbox; administrators also choose the owner."""

    panels = PERSONAL_PANELS

    class Meta(MailAccountForm.Meta):
        model = PersonalEmailAccount
        fields = _panel_fields(PERSONAL_PANELS)

    def __init__(self, *args, user: User, admin: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if admin:
            self.fields["owner"].queryset = User.objects.filter(is_active=True)
            if not self.instance.pk:
                self.initial.setdefault("owner", user.pk)
        else:
            del self.fields["owner"]
        owner = self.owner
        self.fields["put_in_folder"].queryset = EmailFolder.objects.filter(user=owner)
        self.fields["put_in_folder"].empty_label = _("Inbox")
        self.owner_folders = list(EmailFolder.objects.filter(user=owner))
        self.folder_map = self._initial_folder_map()

    @property
    def owner(self) -> User:
        if self.instance.pk:
            return self.instance.owner
        if "owner" in self.fields and self.is_bound:
            owner_id = self.data.get("owner")
            if owner_id and str(owner_id).isdigit():
                owner = User.objects.filter(pk=owner_id).first()
                if owner is not None:
                    return owner
        return self.user

    def _initial_folder_map(self) -> dict[str, int | None]:
        if self.is_bound and hasattr(self.data, "getlist"):
            names = self.data.getlist("folder_map_folder")
            targets = self.data.getlist("folder_map_target")
            return {
                name: int(target) if str(target).isdigit() else None
                for name, target in zip(names, targets, strict=False)
                if name
            }
        return {name: int(pk) for name, pk in (self.instance.folder_map or {}).items() if pk}

    def folder_map_rows(self) -> list[tuple[str, int | None]]:
        """One row per monitored folder: the IMAP folder and the personal folder it files
        into (``None``: the account's default)."""
        folders = self.data.getlist("monitored_folders") if self.is_bound else None
        if not folders:
            folders = self.instance.monitored_folders or ["INBOX"]
        return [(name, self.folder_map.get(name)) for name in _folder_names(folders)]

    def clean(self):
        cleaned = super().clean()
        owner = cleaned.get("owner") or self.owner
        folder = cleaned.get("put_in_folder")
        if folder is not None and folder.user_id != owner.pk:
            self.add_error("put_in_folder", _("Choose one of the owner's folders."))
        allowed = set(EmailFolder.objects.filter(user=owner).values_list("pk", flat=True))
        monitored = set(cleaned.get("monitored_folders") or [])
        mapping = {}
        for name, target in self.folder_map.items():
            if target is None or name not in monitored:
                continue
            if target not in allowed:
                raise ValidationError(_("Choose one of the owner's folders."), code="folder")
            mapping[name] = target
        cleaned["folder_map"] = mapping
        return cleaned

    def save(self, commit: bool = True) -> PersonalEmailAccount:
        account = super().save(commit=False)
        if not account.pk and "owner" not in self.fields:
            account.owner = self.user
        account.folder_map = self.cleaned_data.get("folder_map", {})
        if commit:
            account.save()
            self.forget_changed_grant(account)
        return account


class ImapTestForm(forms.Form):
    """The IMAP part of an account form, read leniently for "Test connection"."""

    imap_host = forms.CharField(max_length=255, required=False)
    imap_port = forms.IntegerField(min_value=1, max_value=65535, required=False)
    imap_security = forms.ChoiceField(choices=Security.choices, required=False)
    imap_username = forms.CharField(max_length=255, required=False)
    imap_password = forms.CharField(strip=False, required=False)
    email_address = forms.CharField(max_length=320, required=False)

    def __init__(self, *args, account: MailAccount | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    @property
    def oauth(self) -> bool:
        """An OAuth account tests with its stored grant (Connect first), not a password."""
        return bool(self.account and self.account.pk and self.account.uses_oauth)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("imap_host") or "").strip():
            raise ValidationError(_("Enter the IMAP server first."), code="host")
        if self.oauth:
            return cleaned
        if not cleaned.get("imap_password") and not (self.account and self.account.imap_password):
            raise ValidationError(_("Enter the password of the mailbox first."), code="password")
        return cleaned

    def imap_settings(self) -> ImapSettings:
        data = self.cleaned_data
        security = data.get("imap_security") or Security.SSL
        if self.oauth:
            return ImapSettings(
                host=data["imap_host"].strip(),
                port=data.get("imap_port") or DEFAULT_PORTS["imap"][security],
                security=security,
                username=self.account.oauth_login_name,
                password="",
                oauth_account=self.account.pk,
            )
        password = data.get("imap_password") or (self.account.imap_password if self.account else "")
        return ImapSettings(
            host=data["imap_host"].strip(),
            port=data.get("imap_port") or DEFAULT_PORTS["imap"][security],
            security=security,
            username=(data.get("imap_username") or data.get("email_address") or "").strip(),
            password=password,
        )


class ResetCursorForm(forms.Form):
    since = forms.DateField(
        label=_("Fetch again from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Messages already imported are recognised and not imported twice."),
    )


class EmailFolderForm(forms.ModelForm):
    class Meta:
        model = EmailFolder
        fields = ["name", "order", "skip_notifications"]
        help_texts = {
            "skip_notifications": _("No notifications for emails filed here (by your filters)."),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = EmailFolder.objects.filter(user=self.user, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("You already have a folder with this name."), code="unique")
        return name

    def save(self, commit: bool = True) -> EmailFolder:
        folder = super().save(commit=False)
        folder.user = self.user
        if commit:
            folder.save()
        return folder


class GroupEmailFolderForm(forms.ModelForm):
    class Meta:
        model = GroupEmailFolder
        fields = ["name", "order", "teams"]
        widgets = {"teams": forms.CheckboxSelectMultiple}
        help_texts = {"teams": _("Members of these teams see the folder and its emails.")}


# --- OAuth 2.0 sign-in ------------------------------------------------------------------------


def _https_url_field(model_field, **kwargs):
    """URL fields read a bare host as https (endpoints must be https; Django 6's default)."""
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class OAuthProviderForm(forms.ModelForm):
    """Administration › Email providers. The client secret is write-only; empty endpoints
    and scopes take the Google / Microsoft preset when saved."""

    class Meta:
        model = OAuthProvider
        formfield_callback = _https_url_field
        fields = [
            "kind",
            "name",
            "tenant",
            "client_id",
            "client_secret",
            "authorize_url",
            "token_url",
            "revoke_url",
            "userinfo_url",
            "scopes",
        ]
        help_texts = {
            "authorize_url": _("Empty: the preset of Google or Microsoft."),
        }
        # Capitalised here: capfirst() would turn Turkish "istemci" into "Istemci", not "İ…"
        labels = {
            "kind": _("Kind"),
            "tenant": _("Tenant"),
            "client_id": _("Client id"),
            "authorize_url": _("Authorization endpoint"),
            "token_url": _("Token endpoint"),
            "revoke_url": _("Revocation endpoint"),
            "userinfo_url": _("Userinfo endpoint"),
            "scopes": _("Scopes"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_secret"] = forms.CharField(
            label=_("Client secret"),
            required=False,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=_("Stored encrypted and never shown again; leave empty to keep it.")
            if self.instance.pk
            else _("Stored encrypted and never shown again."),
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("client_secret") and self.instance.pk:
            cleaned["client_secret"] = self.instance.client_secret
        if cleaned.get("kind") == OAuthProvider.Kind.GENERIC:
            for name in ("authorize_url", "token_url"):
                if not cleaned.get(name):
                    self.add_error(name, _("Enter the endpoint of a provider without preset."))
        from mailboxes.connection.oauth import OAuthError, check_endpoint

        for name in ("authorize_url", "token_url", "revoke_url", "userinfo_url"):
            url = cleaned.get(name)
            if url and not self.has_error(name):
                try:
                    check_endpoint(url)
                except (OAuthError, MailHostNotAllowed) as exc:
                    self.add_error(name, ValidationError(str(exc), code=exc.code))
                except MailConnectionError:
                    pass  # does not resolve today; the sign-in will say so
        return cleaned

    def save(self, commit: bool = True) -> OAuthProvider:
        provider = super().save(commit=False)
        provider.client_secret = self.cleaned_data.get("client_secret", "")
        if commit:
            provider.save()
        return provider


# --- the user's signature (a panel of the preferences page, crm.preferences) ---------------


class UserSignatureForm(forms.ModelForm):
    """The user's email signature, sanitized (mailboxes.sending.signatures)."""

    class Meta:
        model = UserSignature
        fields = ["html"]
        labels = {"html": _("Signature")}  # capitalized for Turkish too ("İmza", not "Imza")
        widgets = {
            "html": forms.Textarea(
                attrs={"rows": 6, "data-rich-html": "", "data-testid": "user-signature"}
            )
        }

    def clean_html(self) -> str:
        return signature_clean(self.cleaned_data.get("html", ""))


def user_signature_row(user: User) -> UserSignature:
    """The user's signature row; an unsaved one when they have none yet."""
    return UserSignature.objects.filter(user=user).first() or UserSignature(user=user)
