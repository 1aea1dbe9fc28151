"""Step 11: stream notes and notifications for the batch.

The rules are in ``mailboxes.notes.email_notes``.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from crm.models import Note
from mailboxes.intake.context import IntakeContext, run_event_publish, run_is_history
from mailboxes.intake.recipients import active_user_ids_by_address
from mailboxes.notes.email_notes import EmailNews, email_news_publish


def _news(ctx: IntakeContext, users_by_address: dict[str, int]) -> EmailNews:
    email, parsed = ctx.email, ctx.parsed
    sender_user_id = users_by_address.get(parsed.sender.address) if parsed.sender else None
    silenced = {uid for uid, outcome in ctx.user_outcomes.items() if outcome.no_notification}
    case = ctx.case
    if ctx.case_created and case is not None and case.assigned_user_id:
        silenced.add(case.assigned_user_id)  # told by the assignment already
    super_parent_id = None
    on_case = (
        case is not None
        and email.parent_id == case.pk
        and email.parent_type_id == ContentType.objects.get_for_model(type(case)).pk
    )
    if on_case and case.account_id:
        super_parent_id = case.account_id
    # Mail one of our users wrote (imported from their mailbox) is "sent" by them, unless it
    # opened a case: then it is the case's first message, as any customer's.
    sent_by_us = sender_user_id is not None and not ctx.case_created
    # mail to the person, not to a mailbox they share: addressed to them, or their own box
    direct = {users_by_address.get(p.address) for p in parsed.to + parsed.cc}
    if not ctx.account.is_group:
        direct.add(getattr(ctx.account.specific, "owner_id", None))
    return EmailNews(
        email=email,
        note_type=Note.Type.EMAIL_SENT if sent_by_us else Note.Type.EMAIL_RECEIVED,
        author_id=sender_user_id,
        sender=str(parsed.sender) if parsed.sender else "",
        is_initial=ctx.case_created,
        super_parent_id=super_parent_id,
        with_note=ctx.is_new_email,
        new_user_ids=set(ctx.new_user_ids),
        direct_user_ids=direct & ctx.new_user_ids,
        silenced_user_ids=silenced,
        # the case of step 9, as it stands in this transaction: no query for its assignee
        parent_assignee=(case.assigned_user_id,) if on_case else None,
        # the text of the email that opened the case is its description (step 9 made it)
        note_text=case.description if on_case and ctx.case_created else None,
    )


def notify_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 11: notes on the parents of new emails; notifications and events unless
    the run is history (``run_is_history``)."""
    run = batch[0].run
    run_event_publish(run, "email.received", [ctx.email for ctx in batch if ctx.is_new_email])
    users_by_address = active_user_ids_by_address(run)
    items: dict[int, EmailNews] = {}
    for ctx in batch:
        email = ctx.email
        if email is None or ctx.parsed is None or email.pk in items:
            continue
        if not (ctx.is_new_email and email.parent_id) and not ctx.new_user_ids:
            continue
        items[email.pk] = _news(ctx, users_by_address)
    email_news_publish(list(items.values()), notify=not run_is_history(run))
