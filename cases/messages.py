"""The sentences cases store (crm.messages): why a case went to someone, and every
auto-reply decision. Rows keep the code and parameters; readers see their own language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.messages import Message, message_define

# Why a message is automatic is decided by intake step 4 (mailboxes.intake.classify); the
# loop guard refuses with those same sentences.
from mailboxes.messages import (  # noqa: F401  (the guard's refusals, one namespace)
    AUTO_REPLY_HEADER,
    AUTO_SUBMITTED,
    BULK,
    EMPTY_RETURN_PATH,
    MAILING_LIST,
    NO_REPLY_SENDER,
    REPORT,
)

# --- distribution (Case.assignment_reason, the "assigned" note's reason) -----------------------
DIRECT = message_define("cases.direct", _("Direct assignment to {user}."))
DIRECT_NO_USER = message_define(
    "cases.direct_no_user", _("Direct assignment: the account has no assign-to user.")
)
DIRECT_INACTIVE = message_define(
    "cases.direct_inactive", _("Direct assignment: {user} is not active.")
)
ROUND_ROBIN = message_define(
    "cases.round_robin", _("Round-robin in team “{team}”: next after the previous assignee.")
)
ROUND_ROBIN_NO_TEAM = message_define(
    "cases.round_robin_no_team", _("Round-robin: the account has no target team.")
)
LEAST_BUSY = message_define(
    "cases.least_busy",
    ngettext_lazy(
        "Least-busy in team “{team}”: {count} open case before this one.",
        "Least-busy in team “{team}”: {count} open cases before this one.",
        "count",
    ),
)
LEAST_BUSY_NO_TEAM = message_define(
    "cases.least_busy_no_team", _("Least-busy: the account has no target team.")
)
NOBODY = message_define("cases.nobody", _("Team “{team}” has no active member."))
NOBODY_WITH_ROLE = message_define(
    "cases.nobody_with_role", _("Nobody in team “{team}” is active with the role “{role}”.")
)
NO_RULE = message_define("cases.no_rule", _("The account has no distribution rule."))
UNASSIGNED = message_define("cases.unassigned", _("Unassigned: {reason}"))

# --- auto-reply: the email is not one auto-replies answer ---------------------------------------
FIRST_FETCH = message_define(
    "cases.auto_reply.first_fetch",
    _("First fetch of the mailbox (its history) or an imported archive: no auto-replies."),
)
JOINS_CASE = message_define(
    "cases.auto_reply.joins_case",
    _("The email joins case {case}; auto-replies answer new cases only."),
)
NO_CASE = message_define("cases.auto_reply.no_case", _("No case was opened for this email."))
KNOWN_THREAD = message_define(
    "cases.auto_reply.known_thread",
    _("The email answers an earlier email; auto-replies answer new conversations only."),
)
TOO_OLD_DAYS = message_define(
    "cases.auto_reply.too_old_days",
    ngettext_lazy(
        "The email is older than {days} day.", "The email is older than {days} days.", "days"
    ),
)
TOO_OLD_HOURS = message_define(
    "cases.auto_reply.too_old_hours",
    ngettext_lazy(
        "The email is older than {hours} hour.", "The email is older than {hours} hours.", "hours"
    ),
)
NO_SMTP = message_define(
    "cases.auto_reply.no_smtp", _("The mailbox has no SMTP settings to send with.")
)

# --- auto-reply: the loop guard -----------------------------------------------------------------
NO_SENDER = message_define("cases.guard.no_sender", _("The message has no sender address."))
SUPPRESSED = message_define(
    "cases.guard.suppressed",
    _("The sender asks for no auto-reply (X-Auto-Response-Suppress: {value})."),
)
POSTACI_LOOP = message_define(
    "cases.guard.postaci_loop", _("The message went through Postaci already (X-Postaci-Loop).")
)
X_LOOP = message_define(
    "cases.guard.x_loop", _("The message has looped through us (X-Loop: {value}).")
)
OWN_MAIL = message_define(
    "cases.guard.own_mail", _("The message is our own mail or a reply to it.")
)
OWN_ADDRESS = message_define(
    "cases.guard.own_address", _("The sender {sender} is one of our own addresses.")
)


def _auto_kind_label(value: str) -> str:
    from mailboxes.models import Email

    return str(dict(Email.AutoKind.choices).get(value, value))


AUTOMATIC = message_define(
    "cases.guard.automatic",
    _("The message is automatic ({kind})."),
    display={"kind": _auto_kind_label},  # the classifier's code, labelled when shown
)
LAST_HOURS = message_define(
    "cases.guard.last_hours",
    ngettext_lazy("the last hour", "the last {hours} hours", "hours"),
)
LAST_MINUTES = message_define(
    "cases.guard.last_minutes",
    ngettext_lazy("the last minute", "the last {minutes} minutes", "minutes"),
)
SENDER_LIMIT = message_define(
    "cases.guard.sender_limit",
    ngettext_lazy(
        "{count} auto-reply to this sender in {period}; the limit is {limit}.",
        "{count} auto-replies to this sender in {period}; the limit is {limit}.",
        "count",
    ),
)
CASE_LIMIT = message_define(
    "cases.guard.case_limit",
    ngettext_lazy(
        "{count} auto-reply on case {case} in {period}; the limit is {limit}.",
        "{count} auto-replies on case {case} in {period}; the limit is {limit}.",
        "count",
    ),
)


def period_message(seconds: float) -> Message:
    """ "the last 2 hours" (or minutes, when the period is not whole hours)."""
    seconds = int(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        return LAST_HOURS(hours=seconds // 3600)
    return LAST_MINUTES(minutes=max(1, round(seconds / 60)))


def age_message(seconds: float) -> Message:
    """ "older than 3 days" (or hours, when the age is not whole days)."""
    seconds = int(seconds)
    if seconds >= 86400 and seconds % 86400 == 0:
        return TOO_OLD_DAYS(days=seconds // 86400)
    return TOO_OLD_HOURS(hours=max(1, round(seconds / 3600)))


# --- the reply box's "Send and set …" (cases/reply_actions.py), under the email's note ----------
def _case_status_label(value: str) -> str:
    from cases.models import Case

    return str(dict(Case.Status.choices).get(value, value))


REPLY_STATUS_KEPT = message_define(
    "cases.reply.status_kept",
    _("The status stayed {status}: it was changed after this email was sent."),
    display={"status": _case_status_label},
)
REPLY_ASSIGNEE_KEPT = message_define(
    "cases.reply.assignee_kept",
    _("The case stayed with {user}: it was reassigned after this email was sent."),
)
REPLY_BOTH_KEPT = message_define(
    "cases.reply.both_kept",
    _("The status and assignee stayed as they were: the case changed after this email was sent."),
)
REPLY_NOT_ALLOWED = message_define(
    "cases.reply.not_allowed",
    _("The case was not changed: the sender may no longer change it."),
)
