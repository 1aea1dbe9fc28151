"""Panels other apps add to the user's preferences page (crm knows nothing of them).

An app registers a ModelForm of its own per-user row in ``AppConfig.ready``; the page shows
each panel as a card under the user's details, validates them with the page's form and saves
them together::

    preference_panel_register(PreferencePanel(
        slug="signature", title=_("Email signature"), form_class=UserSignatureForm,
        instance_of=user_signature_row, assets_template="mailboxes/_editor_assets.html"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models


@dataclass(frozen=True)
class PreferencePanel:
    slug: str  # also the form prefix and the section's id
    title: Any
    form_class: type[forms.ModelForm]
    instance_of: Callable[[Any], models.Model]  # the user's row (unsaved when new)
    help: Any = ""
    assets_template: str = ""  # styles and scripts the panel needs, included once
    order: int = 100


_PANELS: dict[str, PreferencePanel] = {}


def preference_panel_register(panel: PreferencePanel) -> None:
    """Add a panel to the preferences page (registering a slug again replaces it)."""
    _PANELS[panel.slug] = panel


def preference_panels() -> list[PreferencePanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.slug))


def preference_forms(user, data=None) -> list[tuple[PreferencePanel, forms.ModelForm]]:
    """Each registered panel with its form for ``user`` (bound to ``data`` when given)."""
    return [
        (panel, panel.form_class(data, instance=panel.instance_of(user), prefix=panel.slug))
        for panel in preference_panels()
    ]
