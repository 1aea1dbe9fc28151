from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessLevel(models.TextChoices):
    """How much of a record type a role may read and edit."""

    NO = "no", _("No access")
    OWN = "own", _("Own")
    TEAM = "team", _("Team")
    ALL = "all", _("All")


class GroupEmailAccountLevel(models.TextChoices):
    """Who may send through a shared group account (EspoCRM's "Group Email Account")."""

    NO = "no", _("No")
    TEAM = "team", _("Team")
    ALL = "all", _("All")


class Role(models.Model):
    """A named set of permissions; users get roles directly or through their teams.

    With several roles the most permissive level wins for each permission.
    """

    name = models.CharField(_("name"), max_length=150, unique=True)
    group_email_account = models.CharField(
        _("group email account"),
        max_length=8,
        choices=GroupEmailAccountLevel.choices,
        default=GroupEmailAccountLevel.NO,
        help_text=_("Sending through shared group email accounts."),
    )
    personal_email_accounts = models.BooleanField(
        _("personal email accounts"),
        default=True,
        help_text=_("The user may connect their own mailboxes."),
    )
    email_access = models.CharField(
        _("emails"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )
    case_access = models.CharField(
        _("cases"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )
    account_access = models.CharField(
        _("accounts"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )
    contact_access = models.CharField(
        _("contacts"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )
    lead_access = models.CharField(
        _("leads"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )
    opportunity_access = models.CharField(
        _("opportunities"), max_length=8, choices=AccessLevel.choices, default=AccessLevel.OWN
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    members = models.ManyToManyField(
        "crm.User",
        through="crm.TeamMembership",
        related_name="teams",
        blank=True,
        verbose_name=_("members"),
    )
    roles = models.ManyToManyField(
        Role,
        blank=True,
        related_name="teams",
        verbose_name=_("roles"),
        help_text=_("Every member of the team gets these roles."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A user in a team, with an optional role in that team (e.g. "Tier 1") used by case
    distribution to narrow down who gets cases."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey("crm.User", on_delete=models.CASCADE, related_name="memberships")
    position = models.CharField(_("role in team"), max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="crm_teammembership_unique")
        ]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"

    def save(self, *args, **kwargs):
        # Case distribution compares roles: "Tier  1 " and "Tier 1" must be one role.
        self.position = " ".join((self.position or "").split())
        super().save(*args, **kwargs)


class User(AbstractUser):
    """A Postaci user; ``is_superuser`` makes an administrator."""

    class Digest(models.TextChoices):
        NEVER = "never", _("Never")
        HOURLY = "hourly", _("Hourly")
        DAILY = "daily", _("Daily")

    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name=_("roles"))
    default_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default team"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=[("en", "English"), ("tr", "Türkçe")],
        help_text=_("Leave empty to follow the browser."),
    )
    notification_digest = models.CharField(
        _("email digest of notifications"),
        max_length=8,
        choices=Digest.choices,
        default=Digest.NEVER,
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.is_superuser
