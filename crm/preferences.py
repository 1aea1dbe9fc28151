"""Panels other apps add to the user's preferences page (crm knows nothing of them).

An app registers a ModelForm of its own per-user row in ``AppConfig.ready``; the page shows
each panel as a card under the user's details, validates them with the page's form and saves
them together::

    preference_panel_register(PreferencePanel(
        slug="signature", title=_("Email signature"),
        form_class="mailboxes.forms.UserSignatureForm",
        instance_of="mailboxes.forms.user_signature_row",
        assets_template="mailboxes/_editor_assets.html"))

The form and the row function may be named by import path: they load when the page is first
shown, not in every process that starts the apps (a fetch imports no form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PreferencePanel:
    slug: str  # also the form prefix and the section's id
    title: Any
    form_class: type[forms.ModelForm] | str  # or its import path
    instance_of: Callable[[Any], models.Model] | str  # the user's row (unsaved when new)
    help: Any = ""
    assets_template: str = ""  # styles and scripts the panel needs, included once
    order: int = 100

    def form(self, user, data=None) -> forms.ModelForm:
        form_class, instance_of = self.form_class, self.instance_of
        if isinstance(form_class, str):
            form_class = import_string(form_class)
        if isinstance(instance_of, str):
            instance_of = import_string(instance_of)
        return form_class(data, instance=instance_of(user), prefix=self.slug)


_PANELS: dict[str, PreferencePanel] = {}


def preference_panel_register(panel: PreferencePanel) -> None:
    """Add a panel to the preferences page (registering a slug again replaces it)."""
    _PANELS[panel.slug] = panel


def preference_panels() -> list[PreferencePanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.slug))


def preference_forms(user, data=None) -> list[tuple[PreferencePanel, forms.ModelForm]]:
    """Each registered panel with its form for ``user`` (bound to ``data`` when given)."""
    return [(panel, panel.form(user, data)) for panel in preference_panels()]
