"""A group mailbox's email-to-case and auto-reply settings, read in one place.

The settings live in ``cases.GroupAccountCases`` (one row per group account); mailboxes
shows them as the account's own attributes through ``group_account_extend`` and in its form
through ``account_form_panel_register`` (both registered in ``CasesConfig.ready``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.models import GroupAccountCases

if TYPE_CHECKING:
    from mailboxes.models import GroupEmailAccount


def case_settings_of(account: GroupEmailAccount) -> GroupAccountCases:
    """The account's settings row; an unsaved one with the defaults when there is none yet
    (kept on the account, so what is set on it is saved with the account)."""
    try:
        return account.case_settings
    except GroupAccountCases.DoesNotExist:
        row = GroupAccountCases()
        account.case_settings = row
        return row


def auto_reply_from_addresses() -> set[str]:
    """Every group account's own auto-reply From address (the loop guard's "our own")."""
    return set(
        GroupAccountCases.objects.exclude(auto_reply_from_address="").values_list(
            "auto_reply_from_address", flat=True
        )
    )
