"""Template helpers of the Emails screens: dates, people, sizes and health."""

from __future__ import annotations

import datetime

from django import template
from django.template.defaultfilters import timeuntil
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def email_date(value: datetime.datetime | None) -> SafeString:
    """Time for today's mail, day and month for this year's, the full date otherwise; the
    exact moment in the tooltip (as on the list's rows)."""
    from mailboxes.inbox.list_rows import email_date_html

    return mark_safe(email_date_html(value))  # noqa: S308 (escaped there)


@register.filter
def sender_display(email) -> str:
    """The sender as a person reads it (as on the list's rows)."""
    from mailboxes.inbox.list_rows import sender_text

    return sender_text(email, _("(unknown sender)"))


@register.filter
def account_state(account) -> str:
    """``ok``, ``fetching``, ``failing``, ``never`` or ``inactive``: the badge of an
    account's health."""
    if not account.is_active:
        return "inactive"
    if account.fetch_pending:
        return "fetching"
    if account.consecutive_failures:
        return "failing"
    if not account.last_fetch_at:
        return "never"
    return "ok"


@register.filter
def first_line(value, length: int = 140) -> str:
    text = str(value or "").strip()  # a stored Message renders in the reader's language
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= length else line[: length - 1] + "…"


@register.filter
def next_retry(when: datetime.datetime | None) -> str:
    """When a failing account is tried again, as a whole sentence ("retried in 55 seconds").

    Not ``naturaltime``: its "55 seconds from now" comes out in Turkish as "şu andan itibaren
    55 saniye", which nobody says.
    """
    if when is None:
        return ""
    seconds = int((when - timezone.now()).total_seconds())
    if seconds <= 0:
        return _("retried at the next poll")
    if seconds < 60:
        delay = ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    else:
        delay = timeuntil(when)
    return _("retried in %(delay)s") % {"delay": delay}


@register.filter
def folder_url(folder) -> str:
    """The list URL of a personal (``EmailFolder``) or group (``GroupEmailFolder``) folder."""
    from mailboxes.models import GroupEmailFolder

    prefix = "g" if isinstance(folder, GroupEmailFolder) else "f"
    return reverse("mailboxes:folder", args=[f"{prefix}{folder.pk}"])


@register.simple_tag
def compose_tool_templates() -> list[str]:
    """The templates other apps add to compose forms (``mailboxes.sending.compose_tools``)."""
    from mailboxes.sending.compose_tools import compose_tools

    return [tool.template for tool in compose_tools()]


@register.simple_tag(takes_context=True)
def email_rows(context, emails, new: bool = False) -> SafeString:
    """The rows of an email list (``mailboxes.inbox.list_rows``), for the folder open."""
    from mailboxes.inbox.list_rows import email_rows_html

    return email_rows_html(
        emails,
        folder_key=context["folder"].key,
        show_recipients=bool(context.get("show_recipients")),
        new=new,
    )
