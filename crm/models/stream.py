from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.messages import MessageField


class Follow(models.Model):
    """A user follows a record: they hear about its new emails even when not in To/Cc."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "user"], name="crm_follow_unique"
            )
        ]
        verbose_name = _("follow")
        verbose_name_plural = _("follows")

    def __str__(self) -> str:
        return f"{self.user} follows {self.content_type.model}:{self.object_id}"


class Note(models.Model):
    """One entry in a record's stream.

    ``related`` points at what the entry is about (an Email for the email types). The stream
    of an Account also shows the notes whose ``super_parent`` is that Account.
    """

    class Type(models.TextChoices):
        POST = "post", _("Post")
        CREATE = "create", _("Created")
        ASSIGN = "assign", _("Assigned")
        STATUS = "status", _("Status changed")
        EMAIL_RECEIVED = "email_received", _("Email received")
        EMAIL_SENT = "email_sent", _("Email sent")
        FOLLOW = "follow", _("Followed")

    EMAIL_TYPES = (Type.EMAIL_RECEIVED, Type.EMAIL_SENT)

    parent_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    parent_id = models.PositiveBigIntegerField()
    parent = GenericForeignKey("parent_type", "parent_id")
    super_parent_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    super_parent_id = models.PositiveBigIntegerField(null=True, blank=True)
    super_parent = GenericForeignKey("super_parent_type", "super_parent_id")
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.POST)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("body"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    related_id = models.PositiveBigIntegerField(null=True, blank=True)
    related = GenericForeignKey("related_type", "related_id")
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["parent_type", "parent_id", "-created_at"], name="crm_note_parent"
            ),
            models.Index(
                fields=["super_parent_type", "super_parent_id", "-created_at"],
                name="crm_note_super_parent",
            ),
            models.Index(fields=["related_type", "related_id"], name="crm_note_related"),
        ]
        constraints = [
            # never two email notes for the same email on the same record
            models.UniqueConstraint(
                fields=["parent_type", "parent_id", "related_type", "related_id"],
                condition=Q(type__in=["email_received", "email_sent"]),
                name="crm_note_one_per_email",
            )
        ]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return f"{self.get_type_display()} on {self.parent_type.model}:{self.parent_id}"


class Notification(models.Model):
    """An in-app notification; ``related`` is what it is about (an Email, a record)."""

    class Type(models.TextChoices):
        NOTE = "note", _("Stream update")
        EMAIL_RECEIVED = "email_received", _("Email received")
        ASSIGNED = "assigned", _("Assigned to you")
        MESSAGE = "message", _("System message")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    # why the user was told (a code of crm.notification_reasons; "" always rings): their
    # preferences for it decide whether it is in their email digest
    reason = models.CharField(_("reason"), max_length=40, blank=True, default="")
    note = models.ForeignKey(
        Note, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    related_id = models.PositiveBigIntegerField(null=True, blank=True)
    related = GenericForeignKey("related_type", "related_id")
    message = MessageField(_("message"))
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="crm_notification_unread"),
            models.Index(fields=["related_type", "related_id"], name="crm_notification_related"),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.get_type_display()} for {self.user}"
