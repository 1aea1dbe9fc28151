"""Cases (support tickets) and the record of every auto-reply sent or refused."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.messages import MessageField
from crm.models import Record

CASE_NUMBER_SEQUENCE = "cases_case_number_seq"


def case_numbers_next(count: int, using: str = "default") -> list[int]:
    """The next ``count`` case numbers; call inside the transaction that inserts the cases.

    PostgreSQL: a sequence (migration 0001), one statement for any count. ``nextval`` never
    blocks and never hands out a number twice, however many workers create cases at once, and
    it does not hold a lock until the (long) intake batch commits, as a counter row or a
    unique-index wait would. Numbers stay unique and increasing; a rolled-back case leaves a
    gap, which is harmless.

    SQLite: ``max + 1`` onwards. Safe there because Postaci opens SQLite transactions
    ``IMMEDIATE`` (settings), so the writer holds the database write lock from BEGIN and no
    other writer can read the same maximum before this insert commits. ``Case.save`` retries on
    a unique clash anyway (e.g. a number set by hand on PostgreSQL).
    """
    if count <= 0:
        return []
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [CASE_NUMBER_SEQUENCE, count]
            )
            return [row[0] for row in cursor.fetchall()]
    current = Case.objects.using(using).aggregate(top=Max("number"))["top"] or 0
    return list(range(current + 1, current + 1 + count))


def case_next_number(using: str = "default") -> int:
    """The next case number (see ``case_numbers_next``)."""
    return case_numbers_next(1, using)[0]


class CaseDistribution(models.TextChoices):
    DIRECT = "direct", _("Direct assignment")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_BUSY = "least_busy", _("Least-busy")


def default_auto_reply_sender_limit() -> int:
    """``POSTACI_AUTO_REPLY_LIMIT``: the default of a new group account's per-sender limit."""
    return settings.POSTACI_AUTO_REPLY_LIMIT


def default_auto_reply_case_limit() -> int:
    return settings.POSTACI_AUTO_REPLY_CASE_LIMIT


def default_auto_reply_period_minutes() -> int:
    return max(1, settings.POSTACI_AUTO_REPLY_PERIOD // 60)


class GroupAccountCases(models.Model):
    """A group mailbox's email-to-case and auto-reply settings (one row per group account).

    Cases owns them, so mailboxes knows nothing of cases; ``cases.settings.case_settings_of``
    reads them (defaults when an account has no row yet). The row is also the round-robin
    cursor that distribution locks.
    """

    account = models.OneToOneField(
        "mailboxes.GroupEmailAccount",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="case_settings",
        verbose_name=_("group email account"),
    )

    # Email-to-case
    create_case = models.BooleanField(_("create case"), default=False)
    target_team = models.ForeignKey(
        "crm.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("target team"),
    )
    case_distribution = models.CharField(
        _("case distribution"),
        max_length=20,
        choices=CaseDistribution.choices,
        default=CaseDistribution.DIRECT,
    )
    target_team_role = models.CharField(
        _("target user role"),
        max_length=100,
        blank=True,
        help_text=_("Only team members with this role in the target team get cases."),
    )
    reopen_case_on_reply = models.BooleanField(_("reopen cases on customer reply"), default=True)
    round_robin_last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    # Auto-reply
    auto_reply = models.BooleanField(_("auto-reply"), default=False)
    auto_reply_subject = models.CharField(_("auto-reply subject"), max_length=255, blank=True)
    auto_reply_body = models.TextField(_("auto-reply body"), blank=True)
    auto_reply_from_name = models.CharField(_("auto-reply from name"), max_length=255, blank=True)
    auto_reply_from_address = models.EmailField(_("auto-reply from address"), blank=True)
    auto_reply_reply_to = models.EmailField(_("auto-reply Reply-To"), blank=True)
    auto_reply_signature = models.BooleanField(
        _("add the signature to auto-replies"),
        default=False,
        help_text=_("The account's signature (Signature panel) goes below the auto-reply text."),
    )
    # Rate limits of the loop guard (cases/loop_guard.py); new accounts start from the
    # POSTACI_AUTO_REPLY_* environment variables.
    auto_reply_sender_limit = models.PositiveIntegerField(
        _("auto-replies per sender"),
        default=default_auto_reply_sender_limit,
        help_text=_("At most this many auto-replies to one sender address within the period."),
    )
    auto_reply_case_limit = models.PositiveIntegerField(
        _("auto-replies per case"),
        default=default_auto_reply_case_limit,
        help_text=_("At most this many auto-replies about one case within the period."),
    )
    auto_reply_period_minutes = models.PositiveIntegerField(
        _("limit period (minutes)"),
        default=default_auto_reply_period_minutes,
        validators=[MinValueValidator(1)],
        help_text=_("The window both limits count in."),
    )

    class Meta:
        verbose_name = _("case and auto-reply settings")
        verbose_name_plural = _("case and auto-reply settings")

    def __str__(self) -> str:
        return str(self.account_id)


# The settings a group account shows as its own attributes (``group_account_extend``).
GROUP_ACCOUNT_CASE_FIELDS = (
    "create_case",
    "target_team",
    "target_team_id",
    "case_distribution",
    "target_team_role",
    "reopen_case_on_reply",
    "round_robin_last_user",
    "round_robin_last_user_id",
    "auto_reply",
    "auto_reply_subject",
    "auto_reply_body",
    "auto_reply_from_name",
    "auto_reply_from_address",
    "auto_reply_reply_to",
    "auto_reply_signature",
    "auto_reply_sender_limit",
    "auto_reply_case_limit",
    "auto_reply_period_minutes",
)


# How cases link an email (Email.linked_by), registered with mailboxes in CasesConfig.ready
# (here, not in intake.py: registering them must not import the intake).
LINKED_BY_CASE_TAG = "case_tag"  # an authorised [#N] in the subject
LINKED_BY_NEW_CASE = "new_case"  # the email opened the case


class Case(Record):
    """A customer's request, usually opened from an email to a group mailbox."""

    access_scope = "case"
    url_name = "cases:case-detail"

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        PENDING = "pending", _("Pending")
        CLOSED = "closed", _("Closed")
        REJECTED = "rejected", _("Rejected")
        DUPLICATE = "duplicate", _("Duplicate")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Type(models.TextChoices):
        QUESTION = "question", _("Question")
        INCIDENT = "incident", _("Incident")
        PROBLEM = "problem", _("Problem")

    number = models.PositiveBigIntegerField(_("number"), unique=True, editable=False)
    name = models.CharField(_("subject"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, blank=True)
    account = models.ForeignKey(
        "crm.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        "crm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("contact"),
    )
    lead = models.ForeignKey(
        "crm.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("lead"),
    )
    group_account = models.ForeignKey(
        "mailboxes.GroupEmailAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("group email account"),
        help_text=_("The mailbox the case came in through."),
    )
    # Set by distribution: why this user got the case, or why nobody did.
    assignment_reason = MessageField(_("assignment"))
    # When the current assignee got it; least-busy distribution breaks ties on the latest of
    # these per user (who was assigned longest ago goes first).
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["assigned_user", "status"], name="cases_case_user_status"),
            models.Index(fields=["assigned_user", "assigned_at"], name="cases_case_user_assigned"),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return f"{self.display_number} {self.name}"

    def save(self, *args, **kwargs):
        if self.number:
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or "default"
        for attempt in range(5):
            try:
                with transaction.atomic(using=using):
                    number = self.number = case_next_number(using)
                    return super().save(*args, **kwargs)
            except IntegrityError:
                self.number = None
                taken = Case.objects.using(using).filter(number=number).exists()
                if attempt == 4 or not taken:
                    raise
        return None  # pragma: no cover

    @property
    def display_number(self) -> str:
        return f"[#{self.number}]"

    @property
    def is_open(self) -> bool:
        return self.status in settings.POSTACI_CASE_OPEN_STATUSES


class AutoReplyLog(models.Model):
    """One auto-reply decision: sent, or refused with the loop guard's reason.

    Shown on the incoming email; the rate limits count the ``sent`` rows in one indexed query.
    """

    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        REFUSED = "refused", _("Refused")

    email = models.ForeignKey(
        "mailboxes.Email",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="auto_reply_logs",
        verbose_name=_("incoming email"),
    )
    account = models.ForeignKey(
        "mailboxes.MailAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("account"),
    )
    sender_address = models.CharField(_("sender address"), max_length=320, blank=True)
    case = models.ForeignKey(
        Case,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="auto_reply_logs",
        verbose_name=_("case"),
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    reason = MessageField(_("reason"))
    reply = models.ForeignKey(
        "mailboxes.Email",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("auto-reply"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["sender_address", "outcome", "created_at"], name="cases_autoreply_sender"
            ),
            models.Index(fields=["case", "outcome", "created_at"], name="cases_autoreply_case"),
        ]
        verbose_name = _("auto-reply log entry")
        verbose_name_plural = _("auto-reply log")

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} → {self.sender_address}"
