"""Signed Message-IDs: they name their record, and nobody without the site key can make one."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from cases.loop_guard import references_our_message
from crm.models import Account, Opportunity
from mailboxes.linking.message_ids import is_our_message_id, message_id_new, message_id_parent

pytestmark = pytest.mark.django_db


def test_message_id_names_its_parent(make_user, make_record, settings):
    settings.POSTACI_MESSAGE_ID_DOMAIN = "mail.postaci.example"
    opportunity = make_record("opportunity", make_user())

    message_id = message_id_new(parent=opportunity)

    assert message_id.startswith(f"<opportunity.{opportunity.pk}.")
    assert message_id.endswith("@mail.postaci.example>")
    assert message_id_parent(message_id) == (
        ContentType.objects.get_for_model(Opportunity),
        opportunity.pk,
    )
    assert is_our_message_id(message_id)


def test_message_ids_are_unique_and_without_parent_name_nothing():
    ids = {message_id_new() for _ in range(500)}
    assert len(ids) == 500
    one = ids.pop()
    assert is_our_message_id(one)
    assert message_id_parent(one) is None


def test_changing_the_record_in_a_signed_id_makes_it_a_strangers(make_user, make_record):
    me = make_user()
    mine, theirs = make_record("account", me), make_record("account", me)
    genuine = message_id_new(parent=mine)
    forged = genuine.replace(f"account.{mine.pk}.", f"account.{theirs.pk}.", 1)
    retyped = genuine.replace("<account.", "<contact.", 1)

    for message_id in (forged, retyped):
        assert message_id_parent(message_id) is None
        assert not is_our_message_id(message_id)


def test_id_signed_with_another_key_is_refused(make_user, make_record, settings):
    account = make_record("account", make_user())
    settings.SECRET_KEY = "another site's key " * 3
    elsewhere = message_id_new(parent=account)
    settings.SECRET_KEY = "this site's key " * 3

    assert message_id_parent(elsewhere) is None
    assert not is_our_message_id(elsewhere)


def test_old_key_in_fallbacks_still_verifies(make_user, make_record, settings):
    account = make_record("account", make_user())
    settings.SECRET_KEY = "old key " * 6
    before_rotation = message_id_new(parent=account)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new key " * 6, ["old key " * 6]

    assert message_id_parent(before_rotation)[1] == account.pk


def test_our_domain_alone_is_not_ours(settings):
    settings.POSTACI_MESSAGE_ID_DOMAIN = "mail.postaci.example"
    for message_id in (
        "<case-1.abc@mail.postaci.example>",
        "<case.1.0123456789abcdef01.0123456789abcdef0123@mail.postaci.example>",
        "<x@MAIL.postaci.example>",
        "",
        "not an id",
    ):
        assert not is_our_message_id(message_id)
        assert message_id_parent(message_id) is None


def test_relays_changing_case_or_domain_keep_it_ours(make_user, make_record, settings):
    account = make_record("account", make_user())
    message_id = message_id_new(parent=account)
    settings.POSTACI_MESSAGE_ID_DOMAIN = "renamed.example"

    assert message_id_parent(message_id.upper())[1] == account.pk
    assert is_our_message_id(message_id.strip("<>"))


def test_loop_guard_and_classifier_use_the_signature():
    ours = message_id_new()
    assert references_our_message(["<a@customer.example>", ours])
    assert not references_our_message(["<a@customer.example>", ours.replace(".", "x", 1)])


def test_only_email_parent_types_can_be_named(make_user):
    with pytest.raises(ValueError):
        message_id_new(parent=make_user())
    with pytest.raises(ValueError):
        message_id_new(parent=Account(name="unsaved"))
