"""Intake steps of the cases app (pipeline steps 9 and 10).

``visible_reply_text`` (imported here) lives in ``mailboxes.inbox.reply_text``: the stream notes of
case emails use the same function.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from cases.account_settings import case_settings_of
from cases.case_tag import case_for_tag
from cases.distribution import case_assign_by_rule
from cases.models import Case
from cases.notes import CASE_OPENED, CASE_REOPENED
from crm.addresses import normalize_address, records_for_addresses
from crm.models import Account, Contact, Lead, Note, User
from mailboxes.inbox.reply_text import visible_reply_text
from mailboxes.intake.classify import is_automatic
from mailboxes.intake.context import IntakeContext
from mailboxes.models import Email, EmailUser, GroupEmailAccount
from mailboxes.sending.compose import subject_without_tags

# Statuses a customer's reply takes a case out of (the account option "reopen on reply").
REOPEN_FROM = (Case.Status.PENDING, Case.Status.CLOSED)


# How cases link an email (Email.linked_by), registered with mailboxes in CasesConfig.ready.
LINKED_BY_CASE_TAG = "case_tag"  # an authorised [#N] in the subject
LINKED_BY_NEW_CASE = "new_case"  # the email opened the case


def email_to_case(ctx: IntakeContext) -> IntakeContext:
    """Step 9: join the case of the email's thread, or open a new case.

    Runs after the recipients (step 8) and before the user filters (9b): a joined case's
    assignee becomes a new recipient here, so their own inbox filters sort their copy.

    Only for group accounts with "create case". Automatic mail (step 4) never opens a case;
    when linking already put it on a case (a bounce of our reply, say) it stays there.
    """
    email = ctx.email
    if email is None or not ctx.account.is_group:
        return ctx
    account: GroupEmailAccount = ctx.account.specific
    if not case_settings_of(account).create_case:
        return ctx
    sender = _sender_address(ctx)
    case = _thread_case(email, sender)
    if case is not None:
        ctx.case = case
        _join(ctx, case, sender, account)
        return ctx
    if is_automatic(ctx):
        return ctx
    ctx.case = case_open_from_email(email=email, account=account, sender=sender)
    ctx.case_created = True
    _share_with_case_people(ctx, ctx.case, notify=False)
    return ctx


def queue_auto_reply(ctx: IntakeContext) -> IntakeContext:
    """Step 10: the auto-reply of a group mailbox, decided now and sent after the commit.

    Every new email of an account with auto-reply on gets one decision (cases/auto_reply.py).
    """
    email = ctx.email
    if email is None or not ctx.is_new_email or not ctx.account.is_group:
        return ctx
    account: GroupEmailAccount = ctx.account.specific
    if not case_settings_of(account).auto_reply:
        return ctx
    from cases.auto_reply import auto_reply_for_intake

    auto_reply_for_intake(ctx, account)
    return ctx


# --- step 9 pieces ----------------------------------------------------------------------------


def _sender_address(ctx: IntakeContext) -> str:
    if ctx.parsed is not None and ctx.parsed.sender is not None:
        return normalize_address(ctx.parsed.sender.address)
    return ctx.email.from_email


def _thread_case(email: Email, sender: str) -> Case | None:
    """The case the email belongs to: its parent (linking), else an authorised ``[#N]`` tag."""
    case_type = ContentType.objects.get_for_model(Case)
    if email.parent_type_id == case_type.pk and email.parent_id:
        case = Case.objects.filter(pk=email.parent_id).first()
        if case is not None:
            return case
    linked_by = Email.LinkedBy.REPLY
    case = _case_of_referenced_email(email, case_type)
    if case is None:
        linked_by = LINKED_BY_CASE_TAG
        case = case_for_tag(subject=email.subject, sender_address=sender)
    if case is not None:
        email.parent_type = case_type
        email.parent_id = case.pk
        email.linked_by = linked_by
        email.account_id = case.account_id or email.account_id
        email.save(
            update_fields=["parent_type", "parent_id", "linked_by", "account", "modified_at"]
        )
    return case


def _case_of_referenced_email(email: Email, case_type: ContentType) -> Case | None:
    """The case of an email this one answers (In-Reply-To, then References, newest first).

    Linking (step 7) normally made the case the parent already; this covers a reply whose
    references name an email of the case that linking did not pick.
    """
    references = [r for r in [email.in_reply_to, *reversed(email.reference_ids)] if r]
    if not references:
        return None
    known = dict(
        Email.objects.filter(
            message_id__in=references, parent_type=case_type, parent_id__isnull=False
        )
        .exclude(pk=email.pk)
        .values_list("message_id", "parent_id")
    )
    for reference in references:
        if reference in known:
            return Case.objects.filter(pk=known[reference]).first()
    return None


def _join(ctx: IntakeContext, case: Case, sender: str, account: GroupEmailAccount) -> None:
    _share_with_case_people(ctx, case)
    reopen = case_settings_of(account).reopen_case_on_reply
    if ctx.is_new_email and reopen and not is_automatic(ctx):
        case_reopen_on_reply(case=case, sender=sender, email=ctx.email)


def _share_with_case_people(ctx: IntakeContext, case: Case, *, notify: bool = True) -> None:
    """The case's assignee and teams get the email.

    With ``notify`` a newly added assignee joins ``ctx.new_user_ids`` so step 11 tells them;
    the assignee of a case opened just now already has its "assigned" notification.
    """
    email = ctx.email
    if case.assigned_user_id:
        _row, created = EmailUser.objects.get_or_create(email=email, user_id=case.assigned_user_id)
        if created and notify:
            ctx.new_user_ids.add(case.assigned_user_id)
    team_ids = list(case.teams.values_list("pk", flat=True))
    if team_ids:
        email.teams.add(*team_ids)


def case_reopen_on_reply(*, case: Case, sender: str, email: Email) -> bool:
    """A customer's reply takes a Pending or Closed case back to Assigned (or New).

    Replies from our own users do not reopen: an agent answering from their mailbox is not
    the customer coming back. Returns whether the case was reopened.
    """
    if case.status not in REOPEN_FROM:
        return False
    if sender and User.objects.filter(is_active=True, email__iexact=sender).exists():
        return False
    old = case.status
    case.status = Case.Status.ASSIGNED if case.assigned_user_id else Case.Status.NEW
    case.save(update_fields=["status", "modified_at"])
    Note.objects.create(
        parent_type=ContentType.objects.get_for_model(Case),
        parent_id=case.pk,
        type=CASE_REOPENED.type,
        data=CASE_REOPENED.data(
            sender=sender or _("the customer"),
            old=old,
            new=case.status,
            email_id=email.pk,
            by=case.group_account.name if case.group_account_id else "",
        ),
        related_type=ContentType.objects.get_for_model(Email),
        related_id=email.pk,
    )
    return True


def case_open_from_email(*, email: Email, account: GroupEmailAccount, sender: str) -> Case:
    """Open a case for the first email of a thread, assigned by the account's rule."""
    contact, crm_account, lead = _sender_records(email, sender)
    case = Case(
        # without the tags of other cases the sender quoted: its own goes in front when sent
        name=(subject_without_tags(email.subject) or str(_("(no subject)")))[:255],
        description=visible_reply_text(email.body_text),
        status=Case.Status.NEW,
        account=crm_account,
        contact=contact,
        lead=lead,
        group_account=account,
    )
    case.save()
    target_team_id = case_settings_of(account).target_team_id
    if target_team_id:
        case.teams.add(target_team_id)
    case_type = ContentType.objects.get_for_model(Case)
    Note.objects.create(
        parent_type=case_type,
        parent_id=case.pk,
        type=CASE_OPENED.type,
        data=CASE_OPENED.data(email_id=email.pk, group_account_id=account.pk, by=account.name),
        related_type=ContentType.objects.get_for_model(Email),
        related_id=email.pk,
    )
    case_assign_by_rule(case=case, account=account)
    email.parent_type = case_type
    email.parent_id = case.pk
    email.linked_by = LINKED_BY_NEW_CASE
    email.account_id = case.account_id or email.account_id
    email.save(update_fields=["parent_type", "parent_id", "linked_by", "account", "modified_at"])
    return case


def _sender_records(
    email: Email, sender: str
) -> tuple[Contact | None, Account | None, Lead | None]:
    """The sender's Contact, Account (the email's, the contact's, or by address) and Lead.

    A Lead only when there is neither a Contact nor an Account (as the incumbent does).
    """
    records = records_for_addresses([sender], [Contact, Account, Lead]).get(sender, [])
    contact = next((r for r in records if isinstance(r, Contact)), None)
    crm_account = email.account
    if crm_account is None and contact is not None and contact.account_id:
        crm_account = contact.account
    if crm_account is None:
        crm_account = next((r for r in records if isinstance(r, Account)), None)
    lead = None
    if contact is None and crm_account is None:
        lead = next((r for r in records if isinstance(r, Lead)), None)
    return contact, crm_account, lead
