"""What every Emails page shares: the folder pane with unread counts, and safe redirects."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from crm.access import is_admin
from mailboxes.inbox.navigation import emails_links
from mailboxes.inbox.selectors import UserMailbox, folder_unread_counts


def mailbox_context(request: HttpRequest, current_key: str = "", mailbox=None) -> dict:
    """The folder pane: folders with unread counts (three queries) and the Emails links."""
    mailbox = mailbox or UserMailbox.of(request.user)
    folders = mailbox.folders(folder_unread_counts(mailbox))
    inbox = next(f for f in folders if f.key == "inbox")
    return {
        "mailbox": mailbox,
        "folders": folders,
        "system_folders": [f for f in folders if f.kind == "system"],
        "personal_folders": [f for f in folders if f.kind == "personal"],
        "group_folders": [f for f in folders if f.kind == "group"],
        "group_mailboxes": [f for f in folders if f.kind == "mailbox"],
        "inbox_unread": inbox.unread,
        "inbox_unread_label": inbox.unread_label,
        "current_folder_key": current_key,
        "emails_links": emails_links(admin=is_admin(request.user)),
        "nav_section": "emails",
    }


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter if it points into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
