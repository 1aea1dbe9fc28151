"""Intake of the cases app: its linking rule (step 7), email-to-case (step 9) and the
auto-reply (step 10), for group mailboxes with "create case".

- Step 7, ``case_thread_link`` (registered with mailboxes' linking): an email joins the case of
  its thread: a case email it answers (In-Reply-To, then References, newest first; a Message-ID
  is unguessable, so anyone may), else the case its subject tags ``[#N]`` when the sender
  belongs to that case (cases/case_tag.py). So the parent is decided once, in step 7.
- Step 9, ``email_to_case``, on the whole batch: an email on a case gets the case's assignee
  and teams, and a customer's reply reopens a Pending or Closed case; every other email that is
  not automatic (step 4) opens a case, assigned by the account's rule. The one decision step 7
  cannot make is a reply to an email that opens its case in this same batch (the case did not
  exist yet): step 9 joins it to that case.

Step 9 costs the same few statements for a batch of any size: one for the cases joined, one
for their teams, one address lookup for the senders, one case number range, the inserts of the
cases, their teams, notes, follows and notifications, the distribution's lock and team query,
and one UPDATE of the emails.

``visible_reply_text`` (imported here) lives in ``mailboxes.inbox.reply_text``: the stream notes
of case emails use the same function.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cases.account_settings import case_settings_of
from cases.case_tag import case_number_in, senders_belonging_to_cases
from cases.distribution import Distributor, case_assignment_set, cases_assigned_publish
from cases.models import (
    LINKED_BY_CASE_TAG,
    LINKED_BY_NEW_CASE,
    Case,
    GroupAccountCases,
    case_numbers_next,
)
from cases.notes import CASE_OPENED, CASE_REOPENED
from crm.addresses import normalize_address, records_for_addresses
from crm.bulk import bulk_insert, bulk_insert_rows, bulk_update_values, model_build
from crm.models import Account, Contact, Lead, Note
from mailboxes.inbox.reply_text import visible_reply_text
from mailboxes.intake.classify import is_automatic
from mailboxes.intake.context import (
    IntakeContext,
    run_event_publish,
    run_is_history,
    run_opens_cases,
)
from mailboxes.intake.link import Link, Parent, ThreadIndex, thread_ids
from mailboxes.intake.recipients import active_user_ids_by_address
from mailboxes.intake.store import account_team_ids
from mailboxes.models import Email, EmailUser, GroupEmailAccount, MailAccount
from mailboxes.sending.compose import subject_topic

# Statuses a customer's reply takes a case out of (the account option "reopen on reply").
REOPEN_FROM = (Case.Status.PENDING, Case.Status.CLOSED)


_EMAIL_LINK_FIELDS = ("parent_type", "parent_id", "linked_by", "account", "modified_at")


def _case_mailbox(account: MailAccount) -> GroupEmailAccount | None:
    """The group account when it turns mail into cases, else None."""
    if not account.is_group:
        return None
    group = account.specific
    return group if case_settings_of(group).create_case else None


def _case_type_id() -> int:
    return ContentType.objects.get_for_model(Case).pk


def _sender_address(ctx: IntakeContext) -> str:
    if ctx.parsed is not None and ctx.parsed.sender is not None:
        return normalize_address(ctx.parsed.sender.address)
    return ctx.email.from_email


# --- step 7: the case of the thread -----------------------------------------------------------


def case_thread_link(links: list[Link], thread: ThreadIndex) -> None:
    """Step 7, the cases app's rule: emails to a case mailbox join their thread's case.

    Runs after mailboxes' own rules; an email they put on a case stays there. The others, in
    batch order (so a reply in the batch follows what it answers): the case of the newest
    email of the thread that is on one, else the case an authorised ``[#N]`` names.
    """
    if not links or _case_mailbox(links[0].ctx.account) is None:
        return
    case_type_id = _case_type_id()
    loose = [link for link in links if not _on_case(link.parent, case_type_id)]
    if not loose:
        return
    named_ids, numbers = set(), set()
    for link in loose:
        for message_id in link.thread_ids:
            parent = thread.parent_of(message_id)
            if _on_case(parent, case_type_id):
                named_ids.add(parent.pk)
        number = case_number_in(link.email.subject)
        if number is not None:
            numbers.add(number)
    if not named_ids and not numbers:
        return
    cases = {
        case.pk: case for case in Case.objects.filter(Q(pk__in=named_ids) | Q(number__in=numbers))
    }
    by_number = {case.number: case for case in cases.values()}
    threaded = {id(link): _case_of_thread(link, thread, cases, case_type_id) for link in loose}
    tagged_of = {
        id(link): (tagged, _sender_address(link.ctx))
        for link in loose
        if threaded[id(link)] is None
        and (tagged := by_number.get(case_number_in(link.email.subject))) is not None
    }
    # whether each tag's sender may reach its case: a few queries for the whole batch
    belonging = senders_belonging_to_cases(tagged_of.values())
    for link in loose:
        case, linked_by = threaded[id(link)], Email.LinkedBy.REPLY
        if case is None and id(link) in tagged_of:
            tagged, sender = tagged_of[id(link)]
            if (tagged.pk, normalize_address(sender)) in belonging:
                case, linked_by = tagged, LINKED_BY_CASE_TAG
        if case is not None:
            account_id = case.account_id or (link.parent.account_id if link.parent else None)
            link.parent = Parent(case_type_id, case.pk, account_id or link.email.account_id)
            link.linked_by = linked_by


def _on_case(parent: Parent | None, case_type_id: int) -> bool:
    return parent is not None and parent.type_id == case_type_id


def _case_of_thread(
    link: Link, thread: ThreadIndex, cases: dict[int, Case], case_type_id: int
) -> Case | None:
    """The case of the first email of the thread (newest first) that is on a case."""
    for message_id in link.thread_ids:
        parent = thread.parent_of(message_id)
        if _on_case(parent, case_type_id):
            return cases.get(parent.pk)
    return None


# --- step 9: email-to-case ---------------------------------------------------------------------


def email_to_case(batch: list[IntakeContext]) -> None:
    """Step 9: each email joins its case or opens one (see the module docstring).

    Runs after the recipients (step 8) and before the user filters (9b): the case's assignee
    becomes a new recipient here, so their own inbox filters sort their copy.
    """
    stored = [ctx for ctx in batch if ctx.email is not None]
    if not stored:
        return
    account = _case_mailbox(stored[0].account)
    if account is None:
        return
    intake = _CaseIntake(stored, account)
    intake.decide()
    intake.open_cases()
    intake.link_emails()
    intake.share_with_case_people()
    intake.reopen()


class _CaseIntake:
    """Step 9 for one batch: decisions in memory first, then a few bulk writes."""

    def __init__(self, batch: list[IntakeContext], account: GroupEmailAccount) -> None:
        self.batch = batch
        self.account = account
        self.run = batch[0].run
        # an import without "open cases": emails join the cases of their threads, no more
        self.opens = run_opens_cases(self.run)
        self.settings: GroupAccountCases = case_settings_of(account)
        self.case_type_id = _case_type_id()
        self.users_by_address = active_user_ids_by_address(batch[0].run)
        on_case = {
            ctx.email.parent_id for ctx in batch if ctx.email.parent_type_id == self.case_type_id
        }
        self.joined: dict[int, Case] = {}
        if on_case:
            self.joined = Case.objects.annotate(
                group_account_name=F("group_account__name")
            ).in_bulk(on_case)
        self.opened: list[IntakeContext] = []  # contexts whose email opens a case, in order
        self.relinked: list[tuple[IntakeContext, str]] = []  # (ctx, linked_by) to write
        self.reopened: list[tuple[IntakeContext, str]] = []  # (ctx, status before)

    def decide(self) -> None:
        """Which case each email is on or opens (cases built, not yet saved)."""
        opened_by_message: dict[str, Case] = {}
        senders = self._sender_records()
        for ctx in self.batch:
            email = ctx.email
            case = None
            if email.parent_type_id == self.case_type_id:
                case = self.joined.get(email.parent_id)
            if case is None:
                case = next(
                    (opened_by_message[i] for i in thread_ids(ctx) if i in opened_by_message),
                    None,
                )
                if case is not None:  # answers an email that opened its case in this batch
                    self.relinked.append((ctx, Email.LinkedBy.REPLY))
            if case is not None:
                ctx.case = case
                if self.opens:
                    self._reopen_decide(ctx, case)
                continue
            if is_automatic(ctx) or not self.opens:
                continue
            ctx.case = self._case_new(ctx, senders)
            ctx.case_created = True
            opened_by_message[email.message_id] = ctx.case
            self.opened.append(ctx)
            self.relinked.append((ctx, LINKED_BY_NEW_CASE))

    def _sender_records(self) -> dict[str, list]:
        """The Contacts, Accounts and Leads of the senders that may open a case: one lookup."""
        addresses = {
            _sender_address(ctx)
            for ctx in self.batch
            if ctx.email.parent_type_id != self.case_type_id and not is_automatic(ctx)
        }
        addresses.discard("")
        return records_for_addresses(addresses, [Contact, Account, Lead]) if addresses else {}

    def _case_new(self, ctx: IntakeContext, senders: dict[str, list]) -> Case:
        """The case the email opens (unsaved): named after it, on the sender's records."""
        email = ctx.email
        contact, account_id, lead = _sender_records(email, senders.get(_sender_address(ctx), []))
        return model_build(
            Case,
            # without the tags of other cases the sender quoted (its own goes in front when
            # sent) and without "Re:"/"Ynt:"/"Fwd:" of a thread that began elsewhere
            name=(subject_topic(email.subject) or str(_("(no subject)")))[:255],
            description=visible_reply_text(email.body_text),
            status=Case.Status.NEW,
            account_id=account_id,
            contact=contact,
            lead=lead,
            group_account=self.account,
        )

    def _reopen_decide(self, ctx: IntakeContext, case: Case) -> None:
        """A customer's new reply takes a Pending or Closed case back to Assigned (or New).

        Not a reply of our own users (an agent answering from their mailbox is not the customer
        coming back), not automatic mail, not a duplicate, and only if the account wants it.
        """
        if not (ctx.is_new_email and self.settings.reopen_case_on_reply):
            return
        if case.status not in REOPEN_FROM or is_automatic(ctx):
            return
        sender = _sender_address(ctx)
        if sender and sender in self.users_by_address:
            return
        old = case.status
        case.status = Case.Status.ASSIGNED if case.assigned_user_id else Case.Status.NEW
        self.reopened.append((ctx, old))

    def open_cases(self) -> None:
        """Number, assign and insert the new cases, with their team, notes and notifications."""
        if not self.opened:
            return
        cases = [ctx.case for ctx in self.opened]
        distributor = Distributor(self.account)
        for case in cases:
            user, reason = distributor.next()
            case_assignment_set(case, user, reason, distributor.now)
        distributor.finish()
        # drawn under the distribution lock: case numbers follow the order of the decisions
        for case, number in zip(cases, case_numbers_next(len(cases)), strict=True):
            case.number = number
        bulk_insert(cases)
        run_event_publish(self.run, "case.created", cases)
        if self.settings.target_team_id:
            bulk_insert_rows(
                Case.teams.through,
                [{"case_id": case.pk, "team_id": self.settings.target_team_id} for case in cases],
                return_ids=False,
            )
        email_type_id = ContentType.objects.get_for_model(Email).pk
        bulk_insert_rows(
            Note,
            [
                {
                    "parent_type_id": self.case_type_id,
                    "parent_id": ctx.case.pk,
                    "type": CASE_OPENED.type,
                    "data": CASE_OPENED.data(
                        email_id=ctx.email.pk,
                        group_account_id=self.account.pk,
                        by=self.account.name,
                    ),
                    "related_type_id": email_type_id,
                    "related_id": ctx.email.pk,
                }
                for ctx in self.opened
            ],
            return_ids=False,
        )
        cases_assigned_publish(
            cases,
            by=self.account.name,
            quiet=run_is_history(self.run),
            created=True,
            memo=self.run.cache,
        )

    def link_emails(self) -> None:
        """Put the emails that opened a case, or answer one opened now, on it (one UPDATE)."""
        emails = {}
        for ctx, linked_by in self.relinked:
            email, case = ctx.email, ctx.case
            email.parent_type_id, email.parent_id = self.case_type_id, case.pk
            email.linked_by = linked_by
            email.account_id = case.account_id or email.account_id
            emails[email.pk] = email
        bulk_update_values(list(emails.values()), _EMAIL_LINK_FIELDS)

    def share_with_case_people(self) -> None:
        """The case's assignee and teams get each email on it; a newly added assignee joins
        ``ctx.new_user_ids`` (their filters sort their copy; step 11 tells them, except the
        assignee of a case opened now, who has its "assigned" notification)."""
        on_case = [ctx for ctx in self.batch if ctx.case is not None]
        if not on_case:
            return
        teams = self._case_teams([ctx.case for ctx in on_case])
        has_copy = self._copies_of_duplicates(on_case)
        stored_teams = set(account_team_ids(self.batch[0].run))  # step 6 gave new emails these
        new_rows, old_rows, team_rows = {}, {}, {}
        for ctx in on_case:
            email, user_id = ctx.email, ctx.case.assigned_user_id
            if user_id and (email.pk, user_id) not in has_copy and user_id not in ctx.new_user_ids:
                rows = new_rows if ctx.is_new_email else old_rows
                rows[(email.pk, user_id)] = {"email_id": email.pk, "user_id": user_id}
                ctx.new_user_ids.add(user_id)
            for team_id in teams.get(ctx.case.pk, ()):
                if not (ctx.is_new_email and team_id in stored_teams):
                    team_rows[(email.pk, team_id)] = Email.teams.through(
                        email_id=email.pk, team_id=team_id
                    )
        # copies of emails made in this batch cannot exist yet (step 8 made them all)
        bulk_insert_rows(EmailUser, list(new_rows.values()), return_ids=False)
        EmailUser.objects.bulk_create(
            [EmailUser(**row) for row in old_rows.values()], ignore_conflicts=True
        )
        Email.teams.through.objects.bulk_create(list(team_rows.values()), ignore_conflicts=True)

    def _case_teams(self, cases: list[Case]) -> dict[int, set[int]]:
        teams: dict[int, set[int]] = {}
        old = {case.pk for case in cases if case.pk in self.joined}
        if old:
            for case_id, team_id in Case.teams.through.objects.filter(case_id__in=old).values_list(
                "case_id", "team_id"
            ):
                teams.setdefault(case_id, set()).add(team_id)
        if self.settings.target_team_id:
            for ctx in self.opened:
                teams[ctx.case.pk] = {self.settings.target_team_id}
        return teams

    def _copies_of_duplicates(self, on_case: list[IntakeContext]) -> set[tuple[int, int]]:
        """(email, user) copies that exist already: only an email stored before this batch
        can have one step 8 did not just make."""
        old = {
            ctx.email.pk: ctx.case.assigned_user_id
            for ctx in on_case
            if not ctx.is_new_email and ctx.case.assigned_user_id
        }
        if not old:
            return set()
        return set(
            EmailUser.objects.filter(email_id__in=old, user_id__in=set(old.values())).values_list(
                "email_id", "user_id"
            )
        )

    def reopen(self) -> None:
        """Write the reopened cases and their "reopened" notes."""
        if not self.reopened:
            return
        cases = {ctx.case.pk: ctx.case for ctx, _old in self.reopened}
        bulk_update_values(list(cases.values()), ("status", "modified_at"))
        run_event_publish(self.run, "case.updated", list(cases.values()))
        email_type_id = ContentType.objects.get_for_model(Email).pk
        bulk_insert_rows(
            Note,
            [
                {
                    "parent_type_id": self.case_type_id,
                    "parent_id": ctx.case.pk,
                    "type": CASE_REOPENED.type,
                    "data": CASE_REOPENED.data(
                        sender=_sender_address(ctx) or _("the customer"),
                        old=old,
                        new=ctx.case.status,
                        email_id=ctx.email.pk,
                        by=getattr(ctx.case, "group_account_name", None) or "",
                    ),
                    "related_type_id": email_type_id,
                    "related_id": ctx.email.pk,
                }
                for ctx, old in self.reopened
            ],
            return_ids=False,
        )


def _sender_records(email: Email, records: list) -> tuple[Contact | None, int | None, Lead | None]:
    """The sender's Contact, Account id (the email's, the contact's, or by address) and Lead.

    A Lead only when there is neither a Contact nor an Account (as the incumbent does).
    """
    contact = next((r for r in records if isinstance(r, Contact)), None)
    account_id = email.account_id
    if account_id is None and contact is not None:
        account_id = contact.account_id
    if account_id is None:
        account_id = next((r.pk for r in records if isinstance(r, Account)), None)
    lead = None
    if contact is None and account_id is None:
        lead = next((r for r in records if isinstance(r, Lead)), None)
    return contact, account_id, lead


# --- step 10: auto-reply -----------------------------------------------------------------------


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
