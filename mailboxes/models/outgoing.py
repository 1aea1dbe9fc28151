from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.messages import MessageField


class OutgoingMessage(models.Model):
    """The sending side of an Email written in Postaci (a draft, or a message being sent).

    ``raw`` holds the exact bytes handed to the SMTP server, built once per send request, so
    automatic retries and the copy appended to the Sent folder are byte for byte what the
    recipients got. ``claimed_at``/``claim_token`` mark an SMTP attempt in progress: a claim
    that never recorded its outcome (the worker died) is never retried automatically
    (mailboxes/sending/delivery.py explains the at-most-once rule).
    """

    email = models.OneToOneField(
        "mailboxes.Email", on_delete=models.CASCADE, related_name="outgoing", primary_key=True
    )
    compose_token = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raw = models.BinaryField(blank=True, default=b"")
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)  # when the queued attempt should run
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    refused = models.JSONField(
        default=dict, blank=True, help_text=_("Recipients the server refused.")
    )
    uncertain = models.BooleanField(default=False)
    sent_copy_at = models.DateTimeField(null=True, blank=True)
    sent_copy_error = MessageField()
    # what other apps do once the server accepts it (mailboxes.sending.send_actions):
    # action name → the sender's choice; emptied when applied
    after_send = models.JSONField(default=dict, blank=True)
    # Send later / undo send (mailboxes/sending/scheduling.py): when a Scheduled email leaves;
    # ``undo_window``: the few seconds after a Send, not a time the person chose.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    undo_window = models.BooleanField(default=False, db_default=False)
    # Bumped by every write of the draft: a save carrying an older number from another page is
    # refused, so two tabs editing one draft never overwrite each other silently.
    draft_version = models.PositiveIntegerField(default=0, db_default=0)
    # the page that saved it last (its own saves in flight are no conflict)
    draft_writer = models.CharField(max_length=32, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["compose_token"],
                condition=~Q(compose_token=""),
                name="mailboxes_outgoing_token",
            )
        ]
        indexes = [
            models.Index(fields=["claimed_at"], name="mailboxes_outgoing_claim"),
            models.Index(
                fields=["scheduled_at"],
                condition=Q(scheduled_at__isnull=False),
                name="mailboxes_outgoing_scheduled",
            ),
        ]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")

    def __str__(self) -> str:
        return f"outgoing:{self.email_id}"
