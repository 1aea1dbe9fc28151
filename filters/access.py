"""Who may see, create, edit and dry-run which filters.

- Administrators: every filter, of every scope.
- Other users: their own inbox filters and the filters of their own personal accounts.
  Global and group-account filters are administrators' only (``PermissionDenied``, a 403);
  another user's filters are not visible to them at all (``EmailFilter.objects.visible_to``,
  so views answer 404).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin
from filters.models import EmailFilter
from mailboxes.access import may_have_personal_accounts

Scope = EmailFilter.Scope


def filter_scopes_for(user) -> list[str]:
    """The scopes ``user`` may create filters in, in the order a form offers them."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    if is_admin(user):
        return [Scope.USER_INBOX, Scope.PERSONAL_ACCOUNT, Scope.GROUP_ACCOUNT, Scope.GLOBAL]
    scopes = [Scope.USER_INBOX]
    if may_have_personal_accounts(user):
        scopes.append(Scope.PERSONAL_ACCOUNT)
    return scopes


def can_manage_filter(user, filter_obj: EmailFilter) -> bool:
    """Whether ``user`` may create, edit, delete or dry-run ``filter_obj`` (saved or not)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if is_admin(user):
        return True
    if filter_obj.scope == Scope.USER_INBOX:
        return filter_obj.user_id == user.pk
    if filter_obj.scope == Scope.PERSONAL_ACCOUNT:
        account = filter_obj.personal_account if filter_obj.personal_account_id else None
        return (
            account is not None
            and account.owner_id == user.pk
            and Scope.PERSONAL_ACCOUNT in filter_scopes_for(user)
        )
    return False  # global and group-account filters: administrators only


def check_can_manage_filter(user, filter_obj: EmailFilter) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may manage ``filter_obj``."""
    if not can_manage_filter(user, filter_obj):
        if filter_obj.scope in (Scope.GLOBAL, Scope.GROUP_ACCOUNT):
            raise PermissionDenied(_("Only administrators manage global and group filters."))
        raise PermissionDenied(_("You may only manage your own filters."))


def get_filter_for(user, pk: int) -> EmailFilter:
    """The filter ``pk`` if ``user`` may manage it; ``Http404`` if they cannot see it."""
    return get_object_or_404(
        EmailFilter.objects.visible_to(user).select_related(
            "personal_account", "group_account", "user", "folder", "group_folder"
        ),
        pk=pk,
    )
