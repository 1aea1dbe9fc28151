"""Dry run: what a filter (saved or not) would do to the last emails it would have seen."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, Prefetch, QuerySet
from django.utils.translation import gettext as _

from filters.access import check_can_manage_filter
from filters.matching import CompiledFilter, MessageView
from filters.models import EmailFilter
from mailboxes.models import Email, EmailRecipient

Action = EmailFilter.Action
Scope = EmailFilter.Scope

DEFAULT_LIMIT = 200


@dataclass
class DryRunResult:
    """One email the filter was tried on; ``effects`` say what it would do if it matched."""

    email: Email
    matched: bool
    effects: list[str] = field(default_factory=list)


def filter_dry_run(
    *, user, filter_obj: EmailFilter, limit: int = DEFAULT_LIMIT
) -> list[DryRunResult]:
    """Try ``filter_obj`` on the latest ``limit`` received emails within its reach.

    The emails are those the filter would have seen, among those ``user`` may read: the
    inbox owner's emails for an inbox filter, the account's for an account filter, every
    received email for a global one; newest first. One result per email tried, matched or
    not (``len(results)`` is how many were tried). Costs two queries (one without a To
    criterion), whatever the number of emails. Raises ``PermissionDenied`` if ``user`` may not
    manage the filter.
    """
    check_can_manage_filter(user, filter_obj)
    compiled = CompiledFilter.from_model(filter_obj)
    effects = describe_effects(filter_obj)
    emails = _candidates(user, filter_obj, compiled)[:limit]
    results = []
    for email in emails:
        view = MessageView.from_email(
            email, with_body=compiled.needs_body, with_recipients=compiled.recipient is not None
        )
        matched = compiled.matches(view)
        results.append(
            DryRunResult(email=email, matched=matched, effects=effects if matched else [])
        )
    return results


def _candidates(user, filter_obj: EmailFilter, compiled: CompiledFilter) -> QuerySet[Email]:
    # .all(): EmailQuerySet.visible_to is marked queryset_only, so the manager lacks it
    emails = Email.objects.all().visible_to(user).filter(status=Email.Status.IMPORTED)
    if filter_obj.scope == Scope.USER_INBOX:
        emails = emails.filter(email_users__user_id=filter_obj.user_id)
    elif filter_obj.scope == Scope.PERSONAL_ACCOUNT:
        emails = emails.filter(accounts__id=filter_obj.personal_account_id)
    elif filter_obj.scope == Scope.GROUP_ACCOUNT:
        emails = emails.filter(accounts__id=filter_obj.group_account_id)
    emails = emails.select_related("from_address").order_by(
        F("date_sent").desc(nulls_last=True), "-id"
    )
    if not compiled.needs_body:
        emails = emails.defer("body_text", "body_html")
    if compiled.recipient is not None:
        recipients = EmailRecipient.objects.filter(
            kind__in=(EmailRecipient.Kind.TO, EmailRecipient.Kind.CC)
        ).select_related("address")
        emails = emails.prefetch_related(Prefetch("recipients", queryset=recipients))
    return emails


def describe_effects(filter_obj: EmailFilter) -> list[str]:
    """What a match would do, in words for the user."""
    effects = []
    action = filter_obj.action
    if action == Action.SKIP:
        if filter_obj.scope == Scope.USER_INBOX:
            effects.append(_("Move to Trash"))
        else:
            effects.append(_("Skip: not imported"))
    elif action == Action.MOVE_TO_GROUP_FOLDER and filter_obj.group_folder_id:
        effects.append(
            _("Move to group folder “%(folder)s”") % {"folder": filter_obj.group_folder.name}
        )
    elif action == Action.MOVE_TO_FOLDER and filter_obj.folder_id:
        effects.append(_("Move to folder “%(folder)s”") % {"folder": filter_obj.folder.name})
    elif filter_obj.scope == Scope.USER_INBOX:
        effects.append(_("Leave in Inbox"))
    if filter_obj.scope == Scope.USER_INBOX:
        if filter_obj.mark_as_read:
            effects.append(_("Mark as read"))
        folder_skips = action == Action.MOVE_TO_FOLDER and filter_obj.folder_id is not None
        if (
            filter_obj.no_notification
            or action == Action.SKIP
            or (folder_skips and filter_obj.folder.skip_notifications)
        ):
            effects.append(_("No notification"))
    return effects
