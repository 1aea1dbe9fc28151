"""Email filters: criteria on From, To/Cc, Subject and body, and what to do on a match."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin


class EmailFilterQuerySet(models.QuerySet):
    def visible_to(self, user) -> EmailFilterQuerySet:
        """Filters the user may see and manage (see ``filters.access``).

        Administrators: all. Everyone else: their own user-inbox filters and the filters of
        their own personal accounts; never global or group-account filters.
        """
        if is_admin(user):
            return self
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(
            Q(scope=EmailFilter.Scope.USER_INBOX, user=user)
            | Q(scope=EmailFilter.Scope.PERSONAL_ACCOUNT, personal_account__owner=user)
        )


class EmailFilter(models.Model):
    """One filter; where it applies is its ``scope``.

    Import-time scopes (global, group account, personal account) run at intake step 5 and may
    skip a message before it becomes an Email; the user-inbox scope runs at step 9b (after the
    recipients and the case's people) on each new recipient user's own copy. Matching lives
    in ``filters.matching``.
    """

    class Scope(models.TextChoices):
        GLOBAL = "global", _("Global")
        GROUP_ACCOUNT = "group_account", _("Group email account")
        PERSONAL_ACCOUNT = "personal_account", _("Personal email account")
        USER_INBOX = "user_inbox", _("User inbox")

    class Action(models.TextChoices):
        SKIP = "skip", _("Skip")
        MOVE_TO_GROUP_FOLDER = "move_to_group_folder", _("Move to group folder")
        MOVE_TO_FOLDER = "move_to_folder", _("Move to folder")
        NONE = "none", _("No action")

    # What each scope may do (EspoCRM's table, which users rely on).
    ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
        Scope.GLOBAL: (Action.SKIP,),
        Scope.GROUP_ACCOUNT: (Action.SKIP, Action.MOVE_TO_GROUP_FOLDER),
        Scope.PERSONAL_ACCOUNT: (Action.SKIP,),
        Scope.USER_INBOX: (Action.SKIP, Action.MOVE_TO_FOLDER, Action.NONE),
    }
    IMPORT_SCOPES = (Scope.GLOBAL, Scope.GROUP_ACCOUNT, Scope.PERSONAL_ACCOUNT)

    name = models.CharField(_("name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(
        _("order"), default=0, help_text=_("Lower numbers run first; the first match wins.")
    )
    scope = models.CharField(_("applies to"), max_length=20, choices=Scope.choices)
    group_account = models.ForeignKey(
        "mailboxes.GroupEmailAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email_filters",
        verbose_name=_("group email account"),
    )
    personal_account = models.ForeignKey(
        "mailboxes.PersonalEmailAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email_filters",
        verbose_name=_("personal email account"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email_filters",
        verbose_name=_("user"),
        help_text=_("Owner of an inbox or personal-account filter; empty for shared filters."),
    )

    # Criteria: every criterion that is set must match; at least one must be set.
    from_pattern = models.CharField(
        _("from"),
        max_length=255,
        blank=True,
        help_text=_("Sender address; * matches any characters, e.g. *@example.com."),
    )
    to_pattern = models.CharField(
        _("to"),
        max_length=255,
        blank=True,
        help_text=_("Any To or Cc address; * matches any characters."),
    )
    subject_pattern = models.CharField(
        _("subject"),
        max_length=255,
        blank=True,
        help_text=_("The whole subject; use *word* to match a word anywhere in it."),
    )
    body_contains_any = models.JSONField(
        _("body contains any of"),
        default=list,
        blank=True,
        help_text=_("Matches when the body contains at least one of these phrases."),
    )
    body_contains_all = models.JSONField(
        _("body contains all of"),
        default=list,
        blank=True,
        help_text=_("Matches when the body contains every one of these phrases."),
    )

    action = models.CharField(
        _("action"), max_length=24, choices=Action.choices, default=Action.SKIP
    )
    group_folder = models.ForeignKey(
        "mailboxes.GroupEmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="email_filters",
        verbose_name=_("group folder"),
    )
    folder = models.ForeignKey(
        "mailboxes.EmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="email_filters",
        verbose_name=_("folder"),
    )
    mark_as_read = models.BooleanField(_("mark as read"), default=False)
    no_notification = models.BooleanField(_("no notification"), default=False)

    # Statistics, written in bulk by ``filters.intake.flush_filter_stats``.
    match_count = models.PositiveBigIntegerField(_("matched"), default=0, editable=False)
    last_matched_at = models.DateTimeField(_("last matched"), null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)

    objects = EmailFilterQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["scope", "is_active"], name="filters_scope_active")]
        verbose_name = _("email filter")
        verbose_name_plural = _("email filters")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How the journal names the filter that skipped a message: ``name (#id)``."""
        return f"{self.name} (#{self.pk})"

    @property
    def is_import_time(self) -> bool:
        return self.scope in self.IMPORT_SCOPES

    def clean(self) -> None:
        """Enforce the per-scope owner, actions and options, and that a criterion is set."""
        errors: dict[str, list] = {}

        def error(field: str, message) -> None:
            errors.setdefault(field, []).append(message)

        self.from_pattern = (self.from_pattern or "").strip()
        self.to_pattern = (self.to_pattern or "").strip()
        self.subject_pattern = (self.subject_pattern or "").strip()
        for field in ("body_contains_any", "body_contains_all"):
            phrases = getattr(self, field)
            if phrases in (None, ""):
                phrases = []
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                error(field, _("Enter a list of phrases."))
                continue
            setattr(self, field, [p.strip() for p in phrases if p.strip()])

        if not (
            self.from_pattern
            or self.to_pattern
            or self.subject_pattern
            or self.body_contains_any
            or self.body_contains_all
        ):
            error(
                NON_FIELD_ERRORS,
                _("Set at least one criterion: From, To, Subject or body phrases."),
            )

        self._clean_owner(error)

        allowed = self.ALLOWED_ACTIONS.get(self.scope, ())
        if self.scope and self.action not in allowed:
            error("action", _("This action is not available for this kind of filter."))

        # The folder fields only mean something with their action (EspoCRM nulls them too).
        if self.action != self.Action.MOVE_TO_GROUP_FOLDER:
            self.group_folder = None
        elif self.group_folder_id is None:
            error("group_folder", _("Choose the group folder to move matching emails to."))
        if self.action != self.Action.MOVE_TO_FOLDER:
            self.folder = None
        elif self.folder_id is None:
            error("folder", _("Choose the folder to move matching emails to."))
        elif self.user_id is not None and self.folder.user_id != self.user_id:
            error("folder", _("Choose one of your own folders."))

        if self.scope != self.Scope.USER_INBOX:
            if self.mark_as_read:
                error("mark_as_read", _("Only inbox filters can mark emails as read."))
            if self.no_notification:
                error("no_notification", _("Only inbox filters can turn off notifications."))

        if errors:
            raise ValidationError(errors)

    def _clean_owner(self, error) -> None:
        """Each scope has exactly its own owner field set."""
        owner_fields = {
            self.Scope.GLOBAL: (),
            self.Scope.GROUP_ACCOUNT: ("group_account",),
            self.Scope.PERSONAL_ACCOUNT: ("personal_account", "user"),
            self.Scope.USER_INBOX: ("user",),
        }.get(self.scope)
        if owner_fields is None:
            return  # an invalid scope is reported by the field's choices
        if self.scope == self.Scope.PERSONAL_ACCOUNT:
            # The account's owner owns its filters, whoever saves them.
            self.user_id = (
                self.personal_account.owner_id if self.personal_account_id is not None else None
            )
        missing = {
            "group_account": _("Choose the group email account."),
            "personal_account": _("Choose the personal email account."),
            "user": _("Choose the user whose inbox this filter sorts."),
        }
        for field in ("group_account", "personal_account", "user"):
            is_set = getattr(self, f"{field}_id") is not None
            if field in owner_fields and not is_set:
                if not (field == "user" and self.scope == self.Scope.PERSONAL_ACCOUNT):
                    error(field, missing[field])
            elif field not in owner_fields and is_set:
                error(field, _("Leave this empty for this kind of filter."))
