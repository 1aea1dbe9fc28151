"""The group account's case and auto-reply settings, edited inline on its admin page."""

from django.contrib import admin

from cases.models import GroupAccountCases
from mailboxes.models import GroupEmailAccount


class GroupAccountCasesInline(admin.StackedInline):
    model = GroupAccountCases
    can_delete = False
    max_num = 1


def _add_inline() -> None:
    """mailboxes registers the account's admin (it comes first in INSTALLED_APPS); cases adds
    its settings to it without mailboxes knowing."""
    model_admin = admin.site._registry.get(GroupEmailAccount)
    if model_admin is not None and GroupAccountCasesInline not in model_admin.inlines:
        model_admin.inlines = [*model_admin.inlines, GroupAccountCasesInline]


_add_inline()
