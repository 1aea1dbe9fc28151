"""The registry of panels other apps show on an email's page (a calendar invitation, say).

An app registers ``render(request, email) -> str`` in ``AppConfig.ready``; the email page
shows each non-empty result under the message, in registration order, so the page needs
no knowledge of the apps. A panel gets the email with its attachments prefetched and
should cost no query when it has nothing to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mailboxes.models import Email

_panels: list[Callable | str] = []


def email_panel_register(render: Callable | str) -> None:
    """Show ``render(request, email)`` (HTML, "" for nothing) on the email page; an import
    path is imported when the page is first shown (call in ``AppConfig.ready``)."""
    if render not in _panels:
        _panels.append(render)


def email_panels_render(request: HttpRequest, email: Email) -> list[SafeString]:
    """The registered panels' HTML for ``email``, the empty ones left out."""
    rendered = []
    for panel in _panels:
        function = import_string(panel) if isinstance(panel, str) else panel
        html = function(request, email)
        if html:
            rendered.append(mark_safe(html))  # noqa: S308  (rendered by the panel's template)
    return rendered
