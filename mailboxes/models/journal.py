from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.messages import MessageField


class RawMessage(models.Model):
    """The journal: the exact bytes that arrived, stored before anything parses them.

    A message that fails to parse or store stays here as ``quarantined`` with its error and
    can be retried; nothing that arrived is ever lost.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IMPORTED = "imported", _("Imported")
        DUPLICATE = "duplicate", _("Duplicate")
        SKIPPED = "skipped", _("Skipped by filter")
        QUARANTINED = "quarantined", _("Quarantined")

    account = models.ForeignKey(
        "mailboxes.MailAccount", on_delete=models.CASCADE, related_name="raw_messages"
    )
    folder = models.CharField(_("folder"), max_length=255)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    raw = models.BinaryField(_("raw source"))
    headers_only = models.BooleanField(
        _("headers only"),
        default=False,
        help_text=_("The message exceeded the size limit; only its headers were downloaded."),
    )
    # set for a message of an imported archive (folder "", uidvalidity the import's id, uid
    # its place in the file); None for a message fetched over IMAP
    mail_import = models.ForeignKey(
        "mailboxes.MailImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="raw_messages",
    )
    message_id = models.CharField(max_length=998, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    email = models.ForeignKey(
        "mailboxes.Email",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="raw_messages",
    )
    skipped_by = models.CharField(
        _("skipped by"), max_length=255, blank=True, help_text=_("The filter that skipped it.")
    )
    # What a skipped message was, so the filter's list of skipped mail says what it threw
    # away (filled for skipped messages only; the others have their Email). The filter is
    # named by id only: mailboxes knows nothing of the filters app.
    skip_filter_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    sender = models.CharField(_("from"), max_length=998, blank=True)
    subject = models.TextField(_("subject"), blank=True)
    date_sent = models.DateTimeField(_("date"), null=True, blank=True)
    error = MessageField(_("error"))
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "folder", "uidvalidity", "uid"], name="mailboxes_raw_unique"
            )
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="mailboxes_raw_acct_status"),
        ]
        verbose_name = _("raw message")
        verbose_name_plural = _("raw messages")

    def __str__(self) -> str:
        return f"{self.account_id}:{self.folder}:{self.uidvalidity}:{self.uid}"
