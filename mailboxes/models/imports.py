from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.messages import MessageField


class MailImport(models.Model):
    """One archive (an ``.mbox`` or an ``.eml`` file) being imported into one mail account.

    Its messages are journaled as ``RawMessage`` rows with this import as their source
    (``uidvalidity`` = the import's id, ``uid`` = the message's place in the file), and
    ``position`` (the bytes of the file done) commits with each batch: a worker that dies
    mid-import resumes after the last committed batch, without duplicates.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(
        "mailboxes.MailAccount", on_delete=models.CASCADE, related_name="imports"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("imported by"),
    )
    file_name = models.CharField(_("file"), max_length=255)
    # where the file waits while it is imported (removed when done): an absolute path
    path = models.CharField(max_length=1000, blank=True)
    # an upload is the import's to remove once done; a file named to importmail is not
    owns_file = models.BooleanField(default=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    open_cases = models.BooleanField(
        _("open cases"),
        default=False,
        help_text=_("Let email-to-case open cases for the imported mail (off: history only)."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    position = models.PositiveBigIntegerField(default=0)
    messages = models.PositiveIntegerField(_("messages"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    quarantined = models.PositiveIntegerField(_("quarantined"), default=0)
    error = MessageField(_("error"))
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mail import")
        verbose_name_plural = _("mail imports")

    def __str__(self) -> str:
        return f"{self.file_name} → {self.account_id}"

    @property
    def percent(self) -> int:
        """How far through the file the import is (by bytes)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.size:
            return 0
        return min(100, self.position * 100 // self.size)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
