"""Controls other apps add to the compose form (compose, reply, forward, a record's reply box).

An app registers a template from its ``AppConfig.ready``; ``_compose_fields.html`` includes
each one below the body, with the compose ``form`` in its context. The template brings its
own static script (no inline code)::

    from mailboxes.sending.compose_tools import compose_tool_register
    compose_tool_register(name="templates", template="mailtemplates/_compose_picker.html")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ComposeTool:
    name: str
    template: str
    order: int = 100


_TOOLS: dict[str, ComposeTool] = {}


def compose_tool_register(*, name: str, template: str, order: int = 100) -> None:
    """Add a control to every compose form (registering a name again replaces it)."""
    _TOOLS[name] = ComposeTool(name, template, order)


def compose_tools() -> list[ComposeTool]:
    """The registered controls, in order."""
    return sorted(_TOOLS.values(), key=lambda tool: (tool.order, tool.name))


# --- files another app puts in the draft (a template's attachments) ---------------------------


@dataclass(frozen=True)
class CarriedFile:
    """A stored file (content-addressed, ``mailboxes.models.emails.attachment_upload_to``)
    that becomes one of the draft's attachments, pointing at the same file as a forwarded
    email's attachments do."""

    filename: str
    content_type: str
    size: int
    sha256: str
    file_name: str


# form field name → resolve(user, posted values) → the files the user may attach
_FILE_SOURCES: dict[str, Callable[[Any, list[str]], list[CarriedFile]]] = {}


def compose_files_register(*, field: str, resolve: Callable[[Any, list[str]], list[CarriedFile]]):
    """Let a compose tool post ``field`` (one value per file, e.g. an attachment id); on
    submit ``resolve(user, values)`` returns the files, only those the user may use."""
    _FILE_SOURCES[field] = resolve


def compose_files(user, data) -> list[CarriedFile]:
    """The files the compose tools posted with the form (``data``: its QueryDict)."""
    files: list[CarriedFile] = []
    for name, resolve in _FILE_SOURCES.items():
        values = [v for v in data.getlist(name) if v] if hasattr(data, "getlist") else []
        if values:
            files += resolve(user, values[:100])
    return files
