"""The record types an email can belong to (its "parent"), in one registry.

Each app registers its types in ``AppConfig.ready`` with ``email_parent_register``, by model
label: ``mailboxes`` registers crm's four on crm's behalf (crm knows no mail), ``cases``
registers ``case``. Named by label so ``mailboxes`` does not import the apps built on it; a
type whose app is not installed is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.db.models import Model
from django.utils.module_loading import import_string

# short name (used in our Message-IDs) → model label, in registration order
EMAIL_PARENT_LABELS: dict[str, str] = {}


def email_parent_register(name: str, label: str) -> None:
    """Let emails belong to records of ``label`` (``"cases.Case"``), called ``name`` in our
    Message-IDs; called from the owning app's ``AppConfig.ready``."""
    EMAIL_PARENT_LABELS[name] = label
    email_parent_models.cache_clear()


# Ways an email gets its parent beyond mailboxes' own (Email.LinkedBy): code → label.
_LINKED_BY: dict[str, object] = {}


def linked_by_register(code: str, label) -> None:
    """Name a way of linking (``linked_by`` value) an app's intake step sets (cases:
    ``case_tag``, ``new_case``); called from the owning app's ``AppConfig.ready``."""
    _LINKED_BY[code] = label


def linked_by_label(code: str) -> str:
    """The label of a ``linked_by`` value in the active language ("" for an unknown one)."""
    from mailboxes.models import Email

    label = dict(Email.LinkedBy.choices).get(code) or _LINKED_BY.get(code)
    return str(label) if label is not None else code


# Rules of other apps that step 7 applies after mailboxes' own (cases: an email to a case
# mailbox joins its thread's case), in registration order.
LINK_RULES: list[Callable | str] = []


def link_rule_register(rule: Callable | str) -> None:
    """Add a linking rule to step 7: ``rule(links, thread)`` gets the batch's
    ``mailboxes.intake.link.Link`` items and a ``ThreadIndex`` and may change an item's parent
    (see link.py); called from the owning app's ``AppConfig.ready``. An import path is
    imported when step 7 first runs."""
    if rule not in LINK_RULES:
        LINK_RULES.append(rule)


def link_rules() -> list[Callable]:
    """The registered linking rules, imported."""
    return [import_string(rule) if isinstance(rule, str) else rule for rule in LINK_RULES]


@cache
def email_parent_models() -> dict[str, type[Model]]:
    """Short name → model of every parent type whose app is installed."""
    models = {}
    for name, label in EMAIL_PARENT_LABELS.items():
        try:
            models[name] = apps.get_model(label)
        except LookupError:  # pragma: no cover - every app is installed in Postaci
            continue
    return models


def parent_kind(model: type[Model]) -> str | None:
    """The short name of a parent type (``"case"``), or None when emails cannot belong to it."""
    for name, candidate in email_parent_models().items():
        if candidate is model or candidate._meta.concrete_model is model._meta.concrete_model:
            return name
    return None


def has_account_field(model: type[Model]) -> bool:
    """Contact, Opportunity and Case point at an Account; the email's account follows them."""
    try:
        field = model._meta.get_field("account")
    except Exception:
        return False
    return getattr(field, "related_model", None) is apps.get_model("crm.Account")
