"""The registry of panels other apps add to the group account form.

Apart from ``mailboxes.forms`` so that registering (in ``AppConfig.ready``, in every
process) imports no form: an app registers a function building its ``AccountFormPanel``,
called the first time a form or an account page needs the panels. A fetch or a worker
never does, and never loads Django's forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailboxes.forms import AccountFormPanel

_factories: list[Callable[[], AccountFormPanel]] = []
_panels: list[AccountFormPanel] | None = None


def account_form_panel_register(factory: Callable[[], AccountFormPanel]) -> None:
    """Add panels to the group account form: ``factory()`` builds them on first need
    (call in ``AppConfig.ready``, importing the forms inside the factory)."""
    global _panels
    _factories.append(factory)
    _panels = None


def account_form_panels() -> list[AccountFormPanel]:
    """The registered panels, in registration order."""
    global _panels
    if _panels is None:
        _panels = [factory() for factory in _factories]
    return _panels
