"""Email templates: a saved subject and HTML body with placeholders, shared as chosen."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin, user_team_ids
from mailboxes.models.emails import attachment_upload_to
from mailboxes.sending.compose import sanitize_html


class EmailTemplateQuerySet(models.QuerySet):
    def usable_by(self, user) -> EmailTemplateQuerySet:
        """Templates ``user`` may insert: their own private ones, those shared with a team
        they belong to (or that they shared), and those shared with everyone."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        Visibility = EmailTemplate.Visibility
        team_shared = EmailTemplate.teams.through.objects.filter(
            team_id__in=user_team_ids(user)
        ).values("emailtemplate_id")
        return self.filter(
            Q(visibility=Visibility.EVERYONE)
            | Q(visibility=Visibility.PRIVATE, owner=user)
            | Q(visibility=Visibility.TEAMS, owner=user)
            | Q(visibility=Visibility.TEAMS, pk__in=team_shared)
        )

    def manageable_by(self, user) -> EmailTemplateQuerySet:
        """Templates ``user`` may edit and delete (see ``mailtemplates.access``)."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if is_admin(user):
            return self.filter(~Q(visibility=EmailTemplate.Visibility.PRIVATE) | Q(owner=user))
        return self.filter(owner=user).exclude(visibility=EmailTemplate.Visibility.EVERYONE)

    def listed_for(self, user) -> EmailTemplateQuerySet:
        """What the list page shows: what ``user`` may use or manage."""
        return self.filter(
            Q(pk__in=self.usable_by(user).values("pk"))
            | Q(pk__in=self.manageable_by(user).values("pk"))
        )


class EmailTemplate(models.Model):
    """A ready answer. ``body_html`` is stored sanitized (the same allow-list as a sent
    email's body) and may hold ``{{placeholders}}`` (``mailtemplates.placeholders``)."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Only me")
        TEAMS = "teams", _("My teams")
        EVERYONE = "everyone", _("Everyone")

    name = models.CharField(_("name"), max_length=150)
    category = models.CharField(
        _("category"), max_length=100, blank=True, help_text=_("Groups templates in the list.")
    )
    subject = models.CharField(
        _("subject"),
        max_length=255,
        blank=True,
        help_text=_("Used when the email has no subject yet."),
    )
    body_html = models.TextField(_("body"), blank=True)
    visibility = models.CharField(
        _("who may use it"),
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.PRIVATE,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_templates",
        verbose_name=_("owner"),
    )
    teams = models.ManyToManyField(
        "crm.Team", blank=True, related_name="email_templates", verbose_name=_("teams")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EmailTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["category", "name", "pk"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # sanitized on every save, whatever wrote it (form, admin, shell)
        self.body_html = sanitize_html(self.body_html)
        super().save(*args, **kwargs)


class EmailTemplateAttachment(models.Model):
    """A file a template adds to the draft it is inserted into. Stored like an email's
    attachment (content-addressed: the same bytes are one file), so the draft's copy points
    at the same file, as a forwarded email's attachments do."""

    template = models.ForeignKey(
        EmailTemplate, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)

    class Meta:
        ordering = ["filename", "pk"]
        verbose_name = _("template attachment")
        verbose_name_plural = _("template attachments")

    def __str__(self) -> str:
        return self.filename
