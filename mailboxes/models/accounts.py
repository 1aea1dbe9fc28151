from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.crypto import EncryptedTextField
from crm.messages import MessageField

from .oauth import OAuthAccountFields


class Security(models.TextChoices):
    NONE = "none", _("None")
    STARTTLS = "starttls", _("STARTTLS")
    SSL = "ssl", _("SSL/TLS")


class MailAccount(OAuthAccountFields, models.Model):
    """What group and personal accounts share: IMAP and SMTP settings and fetch health.

    Concrete base (multi-table inheritance) so cursors, the journal and emails point at one
    table whatever the kind of account; ``specific`` gives the group or personal row.
    """

    class Kind(models.TextChoices):
        GROUP = "group", _("Group")
        PERSONAL = "personal", _("Personal")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    kind = models.CharField(max_length=10, choices=Kind.choices, editable=False)
    name = models.CharField(_("name"), max_length=150)
    email_address = models.EmailField(_("email address"), max_length=320)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )

    # IMAP
    use_imap = models.BooleanField(_("fetch emails"), default=True)
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_username = models.CharField(_("IMAP username"), max_length=255, blank=True)
    imap_password = EncryptedTextField(_("IMAP password"), blank=True)
    monitored_folders = models.JSONField(
        _("monitored folders"), default=list, blank=True, help_text=_("IMAP folders to fetch.")
    )
    fetch_since = models.DateField(
        _("fetch since"), null=True, blank=True, help_text=_("The first fetch starts here.")
    )
    keep_fetched_unread = models.BooleanField(_("keep fetched emails unread"), default=False)
    store_sent_emails = models.BooleanField(_("store sent emails"), default=False)
    sent_folder = models.CharField(_("sent folder"), max_length=255, blank=True)

    # SMTP
    use_smtp = models.BooleanField(_("send emails (SMTP)"), default=False)
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_auth = models.BooleanField(_("SMTP authentication"), default=True)
    smtp_username = models.CharField(_("SMTP username"), max_length=255, blank=True)
    smtp_password = EncryptedTextField(_("SMTP password"), blank=True)

    # Health
    last_fetch_at = models.DateTimeField(_("last successful fetch"), null=True, blank=True)
    last_error = MessageField(_("last error"))
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    failure_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_retry_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When a fetch was last asked for (saving the account, "Fetch now"): until a fetch ends
    # after it, the account page shows "Fetching…" and keeps itself up to date.
    fetch_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A fetch waits in the queue since then (cleared when a worker starts it): polls and the
    # watcher do not queue a second one (mailboxes/intake/queueing.py). ``urgent``: it is
    # in the fetch_now queue, ahead of polling.
    fetch_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    fetch_queued_urgent = models.BooleanField(default=False, editable=False)
    # The IMAP IDLE watcher's heartbeat: every monitored folder is watched live since then
    # (refreshed every minute, cleared when a connection drops). Polls skip such an account
    # unless it has been silent for long (mailboxes/intake/queueing.py).
    watched_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>"

    def save(self, *args, **kwargs):
        if not self.kind:
            self.kind = self.default_kind
        if not self.monitored_folders and self.use_imap:
            self.monitored_folders = ["INBOX"]
        self.email_address = (self.email_address or "").strip().lower()
        super().save(*args, **kwargs)

    default_kind = ""

    @property
    def specific(self) -> GroupEmailAccount | PersonalEmailAccount:
        """The group or personal account this row is the base of."""
        if isinstance(self, (GroupEmailAccount, PersonalEmailAccount)):
            return self
        if self.kind == self.Kind.GROUP:
            return self.groupemailaccount
        return self.personalemailaccount

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def fetch_pending(self) -> bool:
        """A fetch was asked for and none has ended (well or badly) since."""
        requested = self.fetch_requested_at
        if requested is None or not self.is_active or not self.use_imap:
            return False
        ends = (self.last_fetch_at, self.last_error_at)
        return all(ended is None or ended < requested for ended in ends)

    @property
    def quarantined_count(self) -> int:
        from mailboxes.models import RawMessage

        return RawMessage.objects.filter(
            account_id=self.pk, status=RawMessage.Status.QUARANTINED
        ).count()


class GroupEmailAccount(MailAccount):
    """A shared mailbox (support@, sales@); administrators only."""

    default_kind = MailAccount.Kind.GROUP

    teams = models.ManyToManyField(
        "crm.Team",
        blank=True,
        related_name="group_email_accounts",
        verbose_name=_("teams"),
        help_text=_("Incoming emails are assigned to these teams."),
    )
    for_all_team_users = models.BooleanField(
        _("for all team users"),
        default=True,
        help_text=_("Put incoming emails in the Inbox of every active member of the teams."),
    )
    assign_to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assign to user"),
    )
    group_folder = models.ForeignKey(
        "mailboxes.GroupEmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("group folder"),
        help_text=_("Put incoming emails in this group folder."),
    )
    from_name = models.CharField(_("from name"), max_length=255, blank=True)
    smtp_is_shared = models.BooleanField(
        _("shared SMTP"),
        default=False,
        help_text=_("Users may send from this address, as their role permits."),
    )
    exclude_from_reply = models.BooleanField(
        _("exclude from reply all"), default=True, help_text=_("Never added to Cc on reply all.")
    )
    # sanitized HTML (mailboxes.sending.signatures); see there which signature an email gets
    signature_html = models.TextField(
        _("signature"),
        blank=True,
        help_text=_(
            "Added to emails sent as this address, above the quoted text. Empty: the "
            "sender's own signature."
        ),
    )

    class Meta:
        verbose_name = _("group email account")
        verbose_name_plural = _("group email accounts")

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        for extension in GROUP_ACCOUNT_EXTENSIONS:
            extension.save(self, adding=adding)

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:group-account-detail", args=[self.pk])


@dataclass(frozen=True)
class GroupAccountExtension:
    """Settings another app keeps about a group account in its own one-to-one model.

    ``row_of(account)`` gives the account's row (an unsaved one with the defaults when there
    is none yet). Its fields read and write as the account's own attributes (and keyword
    arguments); saving the account saves the row, creating it with a new account.
    """

    related_name: str
    fields: tuple[str, ...]
    row_of: Callable[[GroupEmailAccount], models.Model]
    # Teams the account's incoming emails also belong to (cases: the target team)
    team_ids: Callable[[GroupEmailAccount], Iterable[int]] | None = None

    def save(self, account: GroupEmailAccount, *, adding: bool) -> None:
        related = account._meta.get_field(self.related_name)
        if adding or related.is_cached(account):
            row = self.row_of(account)
            setattr(row, related.field.name, account)
            row.save()


GROUP_ACCOUNT_EXTENSIONS: list[GroupAccountExtension] = []


def _extension_attribute(extension: GroupAccountExtension, name: str) -> property:
    def get(account: GroupEmailAccount):
        return getattr(extension.row_of(account), name)

    def set_(account: GroupEmailAccount, value) -> None:
        setattr(extension.row_of(account), name, value)

    return property(get, set_, doc=f"``{extension.related_name}.{name}``")


def group_account_extend(
    *,
    related_name: str,
    fields: tuple[str, ...],
    row_of: Callable[[GroupEmailAccount], models.Model],
    team_ids: Callable[[GroupEmailAccount], Iterable[int]] | None = None,
) -> None:
    """Register an app's one-to-one settings of group accounts (call in ``AppConfig.ready``)."""
    extension = GroupAccountExtension(related_name, tuple(fields), row_of, team_ids)
    GROUP_ACCOUNT_EXTENSIONS[:] = [
        e for e in GROUP_ACCOUNT_EXTENSIONS if e.related_name != related_name
    ] + [extension]
    for name in extension.fields:
        setattr(GroupEmailAccount, name, _extension_attribute(extension, name))
    # Model.__init__ accepts properties as keyword arguments; the list is cached
    GroupEmailAccount._meta.__dict__.pop("_property_names", None)


def group_account_extra_team_ids(account: GroupEmailAccount) -> set[int]:
    """Teams the registered extensions add to the account's emails."""
    return {
        team_id
        for extension in GROUP_ACCOUNT_EXTENSIONS
        if extension.team_ids is not None
        for team_id in extension.team_ids(account)
        if team_id
    }


def mail_account_load(account_id: int) -> GroupEmailAccount | PersonalEmailAccount | None:
    """The account as its group or personal row, with what a fetch reads of it (the
    extensions' settings rows, the group folder, the assignee, the owner): one query for a
    group account instead of one for the base row and one more for each of those."""
    group = (
        GroupEmailAccount.objects.select_related(
            "assign_to_user",
            "group_folder",
            *(extension.related_name for extension in GROUP_ACCOUNT_EXTENSIONS),
        )
        .filter(pk=account_id)
        .first()
    )
    if group is not None:
        return group
    return (
        PersonalEmailAccount.objects.select_related("owner", "put_in_folder")
        .filter(pk=account_id)
        .first()
    )


class PersonalEmailAccount(MailAccount):
    """A user's own mailbox; its mail goes to its owner only."""

    default_kind = MailAccount.Kind.PERSONAL

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="personal_email_accounts",
        verbose_name=_("owner"),
    )
    put_in_folder = models.ForeignKey(
        "mailboxes.EmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("put in folder"),
    )
    folder_map = models.JSONField(
        _("folder map"),
        default=dict,
        blank=True,
        help_text=_("IMAP folder name → personal folder id; overrides “put in folder”."),
    )

    class Meta:
        verbose_name = _("personal email account")
        verbose_name_plural = _("personal email accounts")

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:personal-account-detail", args=[self.pk])


class FolderCursor(models.Model):
    """Where fetching stands in one IMAP folder: ``(uidvalidity, last_uid)``."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="cursors")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_date = models.DateTimeField(null=True, blank=True)
    # When the server received (INTERNALDATE) the oldest message past the cursor that the last
    # fetch left there (stopped by an error or a killed worker); null: it left nothing. Saved
    # with each batch, so the System page and /metrics tell how long mail has been waiting.
    pending_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "folder"], name="mailboxes_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.folder} {self.uidvalidity}/{self.last_uid}"
