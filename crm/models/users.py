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


class Role(models.Model):
    """A named set of permissions; users get roles directly or through their teams.

    ``permissions`` holds a value for each permission the apps registered
    (``crm.permissions``); a missing one has its registered default. Registered permissions
    read and construct like fields: ``Role(email_access="team").email_access``. With several
    roles the most permissive level wins for each permission.
    """

    name = models.CharField(_("name"), max_length=150, unique=True)
    permissions = models.JSONField(_("permissions"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __init__(self, *args, **kwargs):
        from crm.permissions import permissions

        registered = permissions()
        given = {name: kwargs.pop(name) for name in list(kwargs) if name in registered}
        super().__init__(*args, **kwargs)
        if given:
            self.permissions = {**(self.permissions or {}), **given}

    def __str__(self) -> str:
        return self.name

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: registered permissions read like fields.
        if name.startswith("_") or name == "permissions":
            raise AttributeError(name)
        from crm.permissions import permissions

        permission = permissions().get(name)
        if permission is None:
            raise AttributeError(name)
        return self.permission(name)

    def permission(self, name: str):
        """The role's value for a registered permission (its default when unset)."""
        from crm.permissions import permissions

        return (self.permissions or {}).get(name, permissions()[name].default)


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
    # kind code → level (crm.notification_reasons); administrators apply them to the members
    notification_defaults = models.JSONField(_("notification defaults"), default=dict, blank=True)

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
    # how emails sign for the user (email templates' {{user.title}}, {{user.phone}})
    # (a database default too: rows written by code that predates them, e.g. older migrations)
    title = models.CharField(_("job title"), max_length=100, blank=True, default="", db_default="")
    phone = models.CharField(_("phone"), max_length=50, blank=True, default="", db_default="")
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
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        db_default="",  # rows written by code that predates the column
        help_text=_("Times are shown and chosen in this zone; empty: the server's."),
    )
    notification_digest = models.CharField(
        _("email digest of notifications"),
        max_length=8,
        choices=Digest.choices,
        default=Digest.NEVER,
    )
    # kind code → level (crm.notification_reasons); kinds not in it are at their default
    notification_preferences = models.JSONField(
        _("notification preferences"), default=dict, blank=True
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.is_superuser
