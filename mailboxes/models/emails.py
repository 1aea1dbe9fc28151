from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access import access_level, user_team_ids
from crm.messages import MessageField


class EmailQuerySet(models.QuerySet):
    def visible_to(self, user) -> EmailQuerySet:
        """Emails the user may read: their own inbox rows, plus team/all per their role."""
        level = access_level(user, "email")
        if level == "all":
            return self
        if level == "no":
            return self.none()
        condition = Q(pk__in=EmailUser.objects.filter(user=user).values("email_id"))
        if level == "team":
            condition |= Q(
                pk__in=Email.teams.through.objects.filter(team_id__in=user_team_ids(user)).values(
                    "email_id"
                )
            )
        return self.filter(condition)


class Email(models.Model):
    """One message, shared by every account, user and team it reached.

    Identified by ``message_id`` (a stable fingerprint when the message has none), so the same
    message arriving through several mailboxes is stored once.
    """

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")  # waits for OutgoingMessage.scheduled_at
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class AutoKind(models.TextChoices):
        """What the classifier (intake step 4) recognised; empty for person-written mail."""

        NONE = "", _("Person")
        AUTO_REPLY = "auto_reply", _("Auto-reply")
        OUT_OF_OFFICE = "out_of_office", _("Out of office")
        BOUNCE = "bounce", _("Bounce")
        FEEDBACK = "feedback", _("Feedback report")
        LIST = "list", _("Mailing list")
        BULK = "bulk", _("Bulk")
        OWN = "own", _("Our own mail")

    class LinkedBy(models.TextChoices):
        """How mailboxes links an email; apps built on it register their own ways
        (``mailboxes.linking.parents.linked_by_register``: cases' case number, new case)."""

        NONE = "", _("Not linked")
        REFERENCE = "reference", _("Our reference")
        REPLY = "reply", _("Reply")
        SENDER = "sender", _("Sender")
        REPLY_TO = "reply_to", _("Reply-To")
        TO = "to", _("To")
        MANUAL = "manual", _("Manual")

    message_id = models.CharField(_("Message-ID"), max_length=995, unique=True)
    message_id_is_fingerprint = models.BooleanField(default=False)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    from_address = models.ForeignKey(
        "crm.EmailAddress",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails_sent",
        verbose_name=_("from"),
    )
    from_name = models.CharField(_("from name"), max_length=255, blank=True)
    date_sent = models.DateTimeField(_("date"), null=True, blank=True, db_index=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=995, blank=True, db_index=True)
    references = models.TextField(_("References"), blank=True)
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    has_attachments = models.BooleanField(_("has attachments"), default=False)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.IMPORTED, db_index=True
    )
    auto_kind = models.CharField(
        _("automatic mail"), max_length=20, choices=AutoKind.choices, blank=True, default=""
    )
    headers = models.JSONField(
        default=dict, blank=True, help_text=_("Headers the classifier and loop guard read.")
    )
    is_malformed = models.BooleanField(_("malformed"), default=False)
    parse_defects = models.TextField(_("parse problems"), blank=True)
    headers_only = models.BooleanField(
        _("body not downloaded"),
        default=False,
        help_text=_("Larger than the size limit: only the headers were fetched."),
    )

    accounts = models.ManyToManyField(
        "mailboxes.MailAccount", blank=True, related_name="emails", verbose_name=_("accounts")
    )
    teams = models.ManyToManyField(
        "crm.Team", blank=True, related_name="emails", verbose_name=_("teams")
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="mailboxes.EmailUser",
        related_name="emails",
        blank=True,
        verbose_name=_("users"),
    )
    group_folder = models.ForeignKey(
        "mailboxes.GroupEmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
        verbose_name=_("group folder"),
    )

    # Linking (intake step 7)
    parent_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent_id = models.PositiveBigIntegerField(null=True, blank=True)
    parent = GenericForeignKey("parent_type", "parent_id")
    account = models.ForeignKey(
        "crm.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
        verbose_name=_("account"),
    )
    linked_by = models.CharField(_("linked by"), max_length=12, blank=True, default="")
    replied = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        verbose_name=_("reply to"),
    )

    # Sending
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent by"),
    )
    send_account = models.ForeignKey(
        "mailboxes.MailAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent through"),
    )
    send_error = MessageField(_("sending error"))
    send_attempts = models.PositiveIntegerField(default=0)
    is_auto_reply = models.BooleanField(_("auto-reply"), default=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["-date_sent", "-id"]
        indexes = [
            models.Index(fields=["parent_type", "parent_id"], name="mailboxes_email_parent"),
        ]
        verbose_name = _("email")
        verbose_name_plural = _("emails")

    def __str__(self) -> str:
        return self.subject or str(_("(no subject)"))

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:email-detail", args=[self.pk])

    def get_linked_by_display(self) -> str:
        """How the email was linked, in the reader's language (any app's registered way)."""
        from mailboxes.linking.parents import linked_by_label

        return linked_by_label(self.linked_by)

    @property
    def from_email(self) -> str:
        return self.from_address.address if self.from_address_id else ""

    @property
    def reference_ids(self) -> list[str]:
        return self.references.split()

    def recipients_of(self, kind: str) -> list[EmailRecipient]:
        """Recipients of one kind (uses the prefetch cache of ``recipients``)."""
        return [r for r in self.recipients.all() if r.kind == kind]


class EmailRecipient(models.Model):
    """An address in To, Cc, Bcc or Reply-To, in header order."""

    class Kind(models.TextChoices):
        TO = "to", _("To")
        CC = "cc", _("Cc")
        BCC = "bcc", _("Bcc")
        REPLY_TO = "reply_to", _("Reply-To")

    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="recipients")
    address = models.ForeignKey(
        "crm.EmailAddress", on_delete=models.CASCADE, related_name="email_recipients"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position"]
        indexes = [models.Index(fields=["address", "kind"], name="mailboxes_recipient_addr")]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "kind", "address"], name="mailboxes_recipient_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.address}"

    @property
    def display(self) -> str:
        return f"{self.name} <{self.address.address}>" if self.name else self.address.address


class EmailUser(models.Model):
    """One user's copy of an email: their folder, read, important, archive and trash state."""

    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="email_users")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_users"
    )
    folder = models.ForeignKey(
        "mailboxes.EmailFolder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="email_users",
    )
    is_read = models.BooleanField(_("read"), default=False)
    is_important = models.BooleanField(_("important"), default=False)
    in_trash = models.BooleanField(_("in trash"), default=False)
    in_archive = models.BooleanField(_("archived"), default=False)
    skip_notification = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The email's date, copied by database triggers (migration 0019: on every insert or
    # update of the row and when the email's date changes), so a user's folder, newest
    # first, is one range of the index below over their own rows, whoever else has mail.
    date = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "user"], name="mailboxes_emailuser_unique")
        ]
        indexes = [
            models.Index(fields=["user", "date", "email"], name="mailboxes_eu_user_date"),
            models.Index(
                fields=["user", "in_trash", "in_archive", "folder"], name="mailboxes_eu_inbox"
            ),
            # The unread counts of the folder pane read only a user's unread rows
            models.Index(
                fields=["user", "email"],
                condition=models.Q(is_read=False, in_trash=False),
                name="mailboxes_eu_unread",
            ),
            # Important and its unread count: the few flagged rows, not all of the user's
            models.Index(
                fields=["user", "email"],
                condition=models.Q(is_important=True),
                name="mailboxes_eu_important",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.email_id}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    """A file part of an email; stored content-addressed (same bytes, one file)."""

    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    content_id = models.CharField(max_length=255, blank=True, db_index=True)
    is_inline = models.BooleanField(default=False)
    # the attachment this file was unpacked from (a winmail.dat), None for a MIME part
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="unpacked",
        verbose_name=_("unpacked from"),
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:attachment", args=[self.pk])
