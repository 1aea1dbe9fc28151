"""Auto-replies of group mailboxes (intake step 10): who gets one, what it says, and sending it.

Rules, in order (research/espocrm.md §7, peers.md §2 and §7.8):

- Only accounts with "auto-reply" on, and only for an email seen for the first time.
- Never during a mailbox's first fetch (its history) nor for mail older than
  ``POSTACI_AUTO_REPLY_MAX_AGE``.
- With "create case": only for the email that opened a new case. Without it: only for a new
  conversation (not a reply to an email Postaci knows).
- Then the loop guard (cases/loop_guard.py): automatic mail, our own mail and addresses,
  rate limits per sender and per case.

Every new email of an auto-reply account gets exactly one ``AutoReplyLog`` row: "sent" or
"refused" with the reason, shown on the email and on the case.

The reply itself is an ``Email`` (``is_auto_reply``, parent the case) written inside the intake
transaction and sent by the ``send_email`` task *after* the commit, through the account's SMTP
with RFC 3834 headers — the sending core's at-most-once delivery applies to it unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from cases import messages
from cases.account_settings import case_settings_of
from cases.loop_guard import GuardedMessage, auto_reply_decide, auto_reply_refusal
from cases.models import AutoReplyLog, Case
from crm.addresses import normalize_address
from crm.messages import Message
from mailboxes.intake.classify import is_automatic
from mailboxes.intake.context import IntakeContext, run_is_history
from mailboxes.models import Email, GroupEmailAccount
from mailboxes.sending.compose import Mailbox, reply_subject, subject_with_tag, text_to_html
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.send import email_send_automatic
from mailboxes.sending.signatures import signature_block, signature_clean

# The placeholders an auto-reply subject and body may use (see ``auto_reply_values``).
PLACEHOLDERS = (
    "case_number",
    "case_subject",
    "customer_name",
    "customer_email",
    "account_name",
    "mailbox_name",
    "email_subject",
    "assigned_user",
)
# Help texts for the account form's auto-reply subject and body fields (the Emails UI owns
# the form; it uses these same strings, so the catalog translates them once).
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LINE_BREAKS = re.compile(r"[\r\n\x00\u2028\u2029\x0b\x0c\x85]+")


def render_template(template: str, values: dict[str, str]) -> str:
    """``{name}`` replaced by its value; unknown names and stray braces are left as typed."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template or "")


def _one_line(value: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", value or "").split())


@dataclass
class AutoReplyContent:
    sender: Mailbox
    to: Mailbox
    reply_to: list[Mailbox]
    subject: str
    body: str
    body_html: str = ""  # with the account's signature, when it says so


def _customer_name(case: Case | None, sender_name: str, address: str) -> str:
    for record in (case.contact, case.lead) if case is not None else ():
        if record is not None:
            return str(record)
    return sender_name or address


def auto_reply_values(
    *, account: GroupEmailAccount, email: Email, case: Case | None, to: Mailbox
) -> dict[str, str]:
    """The placeholder values for one auto-reply (all single-line strings)."""
    values = {
        "case_number": case.display_number if case is not None else "",
        "case_subject": case.name if case is not None else "",
        "customer_name": _customer_name(case, to.name, to.address),
        "customer_email": to.address,
        "account_name": str(case.account) if case is not None and case.account_id else "",
        "mailbox_name": account.from_name or account.name,
        "email_subject": email.subject,
        "assigned_user": (
            (case.assigned_user.get_full_name() or case.assigned_user.username)
            if case is not None and case.assigned_user_id
            else ""
        ),
    }
    return {name: _one_line(value) for name, value in values.items()}


def _default_body(case: Case | None) -> str:
    greeting = gettext("Hello {customer_name},")
    if case is not None:
        text = gettext(
            "Thank you for your message. We have received it and will answer as soon as we "
            "can. Your case number is {case_number}; please keep it in the subject when you "
            "write to us about this matter."
        )
    else:
        text = gettext(
            "Thank you for your message. We have received it and will answer as soon as we can."
        )
    note = gettext("This is an automatic reply.")
    return f"{greeting}\n\n{text}\n\n{{mailbox_name}}\n\n-- \n{note}\n"


def auto_reply_content(
    *, account: GroupEmailAccount, email: Email, case: Case | None, to: Mailbox
) -> AutoReplyContent:
    """Subject, body, From and Reply-To of the auto-reply to ``email`` (sent to ``to``)."""
    values = auto_reply_values(account=account, email=email, case=case, to=to)
    own = case_settings_of(account)
    with translation.override(settings.LANGUAGE_CODE):
        body_template = own.auto_reply_body.strip() or _default_body(case)
        subject = _one_line(render_template(own.auto_reply_subject, values))
        if not subject:
            subject = reply_subject(_one_line(email.subject))
        body = render_template(body_template, values)
    if case is not None:
        subject = subject_with_tag(subject, case.display_number)
    address = own.auto_reply_from_address or account.email_address
    name = own.auto_reply_from_name or account.from_name or account.name
    reply_to: list[Mailbox] = []
    if own.auto_reply_reply_to:
        reply_to = [Mailbox(address=own.auto_reply_reply_to, name=_one_line(name))]
    elif normalize_address(address) != normalize_address(account.email_address):
        # answers to a no-reply From still reach the mailbox
        reply_to = [Mailbox(address=account.email_address, name=_one_line(name))]
    body = body.rstrip() + "\n"
    return AutoReplyContent(
        sender=Mailbox(address=address, name=_one_line(name)),
        to=to,
        reply_to=reply_to,
        subject=subject,
        body=body,
        body_html=_with_signature(body, account) if own.auto_reply_signature else "",
    )


def _with_signature(body: str, account: GroupEmailAccount) -> str:
    """The auto-reply as HTML with the group account's signature below it ("" when the
    account has none: the reply stays plain text). Only the account's own signature: no
    person sends an auto-reply."""
    signature = signature_clean(account.signature_html)
    if not signature:
        return ""
    return text_to_html(body) + signature_block(signature)


def auto_reply_headers(account: GroupEmailAccount) -> dict[str, str]:
    """RFC 3834 and the de-facto markers every autoresponder and helpdesk honours."""
    return {
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "Precedence": "auto_reply",
        "X-Loop": account.email_address,
    }


# --- the intake step --------------------------------------------------------------------------


def _known_thread(email: Email) -> bool:
    """Whether ``email`` answers an email Postaci already has (a reply, not a new thread)."""
    references = [r for r in [email.in_reply_to, *email.reference_ids] if r]
    if not references:
        return False
    return Email.objects.filter(message_id__in=references).exclude(pk=email.pk).exists()


def _scope_refusal(ctx: IntakeContext, account: GroupEmailAccount) -> Message | None:
    """Why this email is not one auto-replies answer at all (before the loop guard)."""
    email = ctx.email
    if run_is_history(ctx.run):
        return messages.FIRST_FETCH()
    if case_settings_of(account).create_case:
        if ctx.case is not None and not ctx.case_created:
            return messages.JOINS_CASE(case=ctx.case.display_number)
        if not ctx.case_created:
            return messages.NO_CASE()
    elif _known_thread(email):
        return messages.KNOWN_THREAD()
    max_age = timedelta(seconds=settings.POSTACI_AUTO_REPLY_MAX_AGE)
    if email.date_sent and email.date_sent < timezone.now() - max_age:
        return messages.age_message(max_age.total_seconds())
    if not (account.use_smtp and account.smtp_host):
        return messages.NO_SMTP()
    return None


def _recipient(ctx: IntakeContext) -> Mailbox:
    parsed = ctx.parsed
    if parsed is not None and parsed.sender is not None and parsed.sender.address:
        return Mailbox(
            address=normalize_address(parsed.sender.address), name=_one_line(parsed.sender.name)
        )
    return Mailbox(address=ctx.email.from_email, name=_one_line(ctx.email.from_name))


def auto_reply_for_intake(ctx: IntakeContext, account: GroupEmailAccount) -> AutoReplyLog:
    """Decide on one new email, record the decision, and queue the reply when it may go."""
    email = ctx.email
    to = _recipient(ctx)
    case = ctx.case if isinstance(ctx.case, Case) else None
    reason = _scope_refusal(ctx, account)
    if reason is not None:
        # for automatic mail the guard's reason says more ("a bounce", "Auto-Submitted: …")
        if not run_is_history(ctx.run) and is_automatic(ctx):
            message = (
                GuardedMessage.from_parsed(ctx.parsed, ctx.classification)
                if ctx.parsed is not None
                else email
            )
            reason = auto_reply_refusal(message=message, account=account, case=case) or reason
        return AutoReplyLog.objects.create(
            email=email,
            account=account,
            sender_address=to.address,
            case=case,
            outcome=AutoReplyLog.Outcome.REFUSED,
            reason=reason,
        )
    log = auto_reply_decide(
        email=email,
        account=account,
        case=case,
        parsed=ctx.parsed,
        classification=ctx.classification,
    )
    if log.outcome != AutoReplyLog.Outcome.SENT:
        return log
    content = auto_reply_content(account=account, email=email, case=case, to=to)
    try:
        reply = email_send_automatic(
            account=account,
            sender=content.sender,
            to=[content.to],
            subject=content.subject,
            body_text=content.body,
            body_html=content.body_html,
            parent=case if case is not None else email.parent,
            replied=email,
            reply_to=content.reply_to,
            extra_headers=auto_reply_headers(account),
            is_auto_reply=True,
            team_ids=list(email.teams.values_list("pk", flat=True)),
        )
    except SendError as exc:
        log.outcome, log.reason = AutoReplyLog.Outcome.REFUSED, exc.message
        log.save(update_fields=["outcome", "reason"])
        return log
    log.reply = reply
    log.save(update_fields=["reply"])
    return log


def auto_reply_logs_for_case(case: Case):
    """The case's auto-reply decisions, oldest first (the first is its opening email's)."""
    case_type = ContentType.objects.get_for_model(Case)
    return (
        AutoReplyLog.objects.filter(
            Q(case=case) | Q(email__parent_type=case_type, email__parent_id=case.pk)
        )
        .select_related("email", "email__from_address", "reply")
        .order_by("created_at", "id")
    )
