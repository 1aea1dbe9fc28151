"""A meeting: an event from a calendar invitation (or typed in), on a record's stream.

Modelled on EspoCRM's Meeting: a title, a time, a status (planned, held, not held,
cancelled), a parent record and attendees; plus what iTIP needs to keep it in step with the
organizer's calendar (the UID and SEQUENCE of RFC 5545, the recurrence rule as written).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class MeetingQuerySet(models.QuerySet):
    def visible_to(self, user) -> MeetingQuerySet:
        """Meetings on a record the user may see, from an email the user may read, or their
        own."""
        from mailboxes.linking.parents import email_parent_models
        from mailboxes.models import Email

        condition = Q(created_by=user) | Q(
            source_email__in=Email.objects.visible_to(user).values("pk")
        )
        for model in email_parent_models().values():
            condition |= Q(
                parent_type=ContentType.objects.get_for_model(model),
                parent_id__in=model._default_manager.visible_to(user).values("pk"),
            )
        return self.filter(condition)


class Meeting(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        HELD = "held", _("Held")
        NOT_HELD = "not_held", _("Not held")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=255)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    # the event's own zone (IANA name; Outlook's Windows names translated), "" when unknown
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    location = models.CharField(_("location"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    organizer_address = models.CharField(_("organizer"), max_length=254, blank=True)
    organizer_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    ical_uid = models.CharField(max_length=255, blank=True, db_index=True)
    sequence = models.PositiveIntegerField(default=0)
    # RRULE as the invitation wrote it (shown in words); EXDATEs and moved occurrences
    rrule = models.TextField(_("recurrence"), blank=True)
    exdates = models.JSONField(default=list, blank=True)  # ISO datetimes (UTC)
    overrides = models.JSONField(default=list, blank=True)  # [{recurrence_id, start, end}]
    parent_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    parent_id = models.PositiveBigIntegerField(null=True, blank=True)
    parent = GenericForeignKey("parent_type", "parent_id")
    source_email = models.ForeignKey(
        "mailboxes.Email",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("invitation"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        indexes = [models.Index(fields=["parent_type", "parent_id"], name="meetings_parent")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings:meeting-detail", args=[self.pk])


class MeetingAttendee(models.Model):
    """One ATTENDEE of the invitation and their answer (PARTSTAT)."""

    class PartStat(models.TextChoices):
        NEEDS_ACTION = "NEEDS-ACTION", _("No answer yet")
        ACCEPTED = "ACCEPTED", _("Accepted")
        TENTATIVE = "TENTATIVE", _("Tentative")
        DECLINED = "DECLINED", _("Declined")
        DELEGATED = "DELEGATED", _("Delegated")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    address = models.CharField(_("address"), max_length=254)
    name = models.CharField(_("name"), max_length=255, blank=True)
    partstat = models.CharField(
        _("answer"), max_length=20, choices=PartStat.choices, default=PartStat.NEEDS_ACTION
    )
    role = models.CharField(max_length=20, blank=True)  # REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "address"], name="meetings_attendee_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address
