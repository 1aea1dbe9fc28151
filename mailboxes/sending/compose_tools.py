"""Controls other apps add to the compose form (compose, reply, forward, a record's reply box).

An app registers a template from its ``AppConfig.ready``; ``_compose_fields.html`` includes
each one below the body, with the compose ``form`` in its context. The template brings its
own static script (no inline code)::

    from mailboxes.sending.compose_tools import compose_tool_register
    compose_tool_register(name="templates", template="mailtemplates/_compose_picker.html")
"""

from __future__ import annotations

from dataclasses import dataclass


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
