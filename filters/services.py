"""Writing filters on behalf of a user: every change goes through the access rules."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from filters.access import check_can_manage_filter, filter_scopes_for
from filters.models import EmailFilter

# Where a filter applies; fixed once it exists (as in EspoCRM), so a filter can never be
# moved out of its owner's reach, or into someone else's.
_PLACEMENT_FIELDS = ("scope", "group_account_id", "personal_account_id")


def filter_new(*, user, scope: str) -> EmailFilter:
    """An unsaved filter of ``scope`` for ``user`` to fill in: ``Http404`` for an unknown
    scope, ``PermissionDenied`` (saying why) for one the user may not create filters in."""
    if scope not in EmailFilter.Scope.values:
        raise Http404
    if scope not in filter_scopes_for(user):
        check_can_manage_filter(user, EmailFilter(scope=scope))  # explains the 403
        raise PermissionDenied
    inbox = scope == EmailFilter.Scope.USER_INBOX
    return EmailFilter(
        scope=scope,
        user=user if inbox else None,
        action=EmailFilter.Action.MOVE_TO_FOLDER if inbox else EmailFilter.Action.SKIP,
    )


def filter_save_with_new_folder(*, user, filter_obj: EmailFilter, new_folder: str = ""):
    """:func:`filter_save`, first creating (or reusing) the inbox folder named
    ``new_folder`` for a Move, in one transaction: a refused filter leaves no folder."""
    with transaction.atomic():
        folder_for_new_name(filter_obj, new_folder)
        return filter_save(user=user, filter_obj=filter_obj)


def folder_for_new_name(filter_obj: EmailFilter, name: str) -> None:
    """Point a Move filter at the owner's folder ``name``, created if needed (call inside the
    transaction that saves the filter)."""
    from mailboxes.models import EmailFolder

    if name and filter_obj.action == EmailFilter.Action.MOVE_TO_FOLDER and filter_obj.user_id:
        filter_obj.folder, _created = EmailFolder.objects.get_or_create(
            user_id=filter_obj.user_id, name=name
        )


def filter_save(*, user, filter_obj: EmailFilter) -> EmailFilter:
    """Validate and save ``filter_obj`` for ``user``.

    Raises ``PermissionDenied`` when the user may not manage the filter (as it is, or as it
    was stored), ``ValidationError`` when it is invalid or its scope or owner changed.
    A new filter without an order goes last in its list.
    """
    stored = None
    if filter_obj.pk is not None:
        stored = EmailFilter.objects.filter(pk=filter_obj.pk).first()
    if stored is not None:
        check_can_manage_filter(user, stored)
        changed = [
            f
            for f in (*_PLACEMENT_FIELDS, "user_id")
            if getattr(stored, f) != getattr(filter_obj, f)
            and not (f == "user_id" and stored.scope == EmailFilter.Scope.PERSONAL_ACCOUNT)
        ]
        if changed:
            raise ValidationError(_("A filter's scope and owner cannot change once it exists."))
    check_can_manage_filter(user, filter_obj)
    filter_obj.full_clean()
    if stored is None and not filter_obj.order:
        filter_obj.order = _next_order(filter_obj)
    filter_obj.save()
    return filter_obj


def _next_order(filter_obj: EmailFilter) -> int:
    siblings = EmailFilter.objects.filter(
        scope=filter_obj.scope,
        group_account_id=filter_obj.group_account_id,
        personal_account_id=filter_obj.personal_account_id,
        user_id=filter_obj.user_id,
    )
    highest = siblings.aggregate(highest=Max("order"))["highest"]
    return 0 if highest is None else highest + 1


def filter_delete(*, user, filter_obj: EmailFilter) -> None:
    check_can_manage_filter(user, filter_obj)
    filter_obj.delete()


def filter_reorder(*, user, ordered_ids: Sequence[int]) -> None:
    """Give the listed filters the orders 0, 1, 2… in the given sequence.

    ``Http404`` if any of them is not visible to ``user``; ``PermissionDenied`` if any may
    not be managed by them. Filters not listed keep their order.
    """
    ordered_ids = list(dict.fromkeys(ordered_ids))
    filters = {
        f.pk: f
        for f in EmailFilter.objects.visible_to(user)
        .filter(pk__in=ordered_ids)
        .select_related("personal_account")
    }
    if len(filters) != len(ordered_ids):
        raise Http404
    for position, pk in enumerate(ordered_ids):
        check_can_manage_filter(user, filters[pk])
        filters[pk].order = position
    with transaction.atomic():
        EmailFilter.objects.bulk_update(filters.values(), ["order"])


def filter_siblings(filter_obj: EmailFilter) -> QuerySet[EmailFilter]:
    """The filters of the same list as ``filter_obj`` (same scope and owner), in run order.

    Orders only compare within such a list: global filters, one group account's, one personal
    account's, one user's inbox filters.
    """
    siblings = EmailFilter.objects.filter(scope=filter_obj.scope)
    if filter_obj.scope == EmailFilter.Scope.GROUP_ACCOUNT:
        siblings = siblings.filter(group_account_id=filter_obj.group_account_id)
    elif filter_obj.scope == EmailFilter.Scope.PERSONAL_ACCOUNT:
        siblings = siblings.filter(personal_account_id=filter_obj.personal_account_id)
    elif filter_obj.scope == EmailFilter.Scope.USER_INBOX:
        siblings = siblings.filter(user_id=filter_obj.user_id)
    return siblings.order_by("order", "id")


def filter_move(*, user, filter_obj: EmailFilter, step: int) -> None:
    """Move ``filter_obj`` ``step`` places within its list (-1 earlier, 1 later).

    The whole list is renumbered 0, 1, 2… so equal or sparse orders become a clean sequence.
    Moving past either end does nothing. Access as for ``filter_reorder``.
    """
    check_can_manage_filter(user, filter_obj)
    ids = list(filter_siblings(filter_obj).values_list("pk", flat=True))
    position = ids.index(filter_obj.pk)
    target = max(0, min(len(ids) - 1, position + step))
    ids.insert(target, ids.pop(position))
    filter_reorder(user=user, ordered_ids=ids)


def filter_set_active(*, user, filter_obj: EmailFilter, active: bool) -> None:
    """Turn a filter on or off without validating the rest of it again (a filter whose
    folder was deleted can still be turned off)."""
    check_can_manage_filter(user, filter_obj)
    filter_obj.is_active = active
    EmailFilter.objects.filter(pk=filter_obj.pk).update(is_active=active)
