"""The pipeline's slots are filled by the apps that own them (AppConfig.ready)."""

from __future__ import annotations

import pytest

from mailboxes.intake.pipeline import HOOKS, STEPS, _step_functions
from mailboxes.linking.parents import EMAIL_PARENT_LABELS


def test_every_step_and_hook_of_a_fetch_is_provided_by_its_app():
    assert [slot.name for slot in STEPS if slot.resolve() is None] == []
    assert [name for name, slot in HOOKS.items() if slot.resolve() is None] == []
    providers = {slot.name: slot.resolve().__module__ for slot in [*STEPS, *HOOKS.values()]}
    assert {name for name, module in providers.items() if module == "filters.intake"} == {
        "account_filters",
        "user_filters",
        "prepare_run",
        "headers_skip",
        "after_batch",
    }
    assert {name for name, module in providers.items() if module == "cases.intake"} == {
        "case",
        "auto_reply",
    }
    assert [name for name, _function, _mode in _step_functions()] == [s.name for s in STEPS]


def test_record_types_an_email_can_belong_to_are_registered_by_their_apps():
    assert EMAIL_PARENT_LABELS == {
        "account": "crm.Account",
        "contact": "crm.Contact",
        "lead": "crm.Lead",
        "opportunity": "crm.Opportunity",
        "case": "cases.Case",
    }


def test_a_slot_is_filled_only_by_the_app_that_owns_it():
    from django.core.exceptions import ImproperlyConfigured

    from mailboxes.intake.notify import notify_batch
    from mailboxes.intake.pipeline import hook_provide, step_provide

    with pytest.raises(ImproperlyConfigured):
        step_provide("case", notify_batch)
    with pytest.raises(ImproperlyConfigured):
        hook_provide("no_such_hook", notify_batch)
    assert next(s for s in STEPS if s.name == "case").resolve().__module__ == "cases.intake"
