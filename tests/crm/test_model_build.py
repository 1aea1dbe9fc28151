"""``model_build``: the intake's many new instances without ``Model.__init__``, equal to what
``__init__`` makes (defaults, callable defaults, related objects, converting attributes)."""

from __future__ import annotations

import pytest
from django.db.models.signals import post_init
from django.utils import timezone

from cases.models import Case
from crm.bulk import bulk_insert, model_build
from crm.models import EmailAddress
from mailboxes.models import Email


def _fields(instance) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in type(instance)._meta.concrete_fields
        if f.attname != "modified_at"  # a default of now(): two moments
    }


def _email_values(address) -> dict:
    return {
        "message_id": "<a@b.test>",
        "subject": "Order",
        "from_address": address,
        "date_sent": timezone.now(),
        "body_text": "Hello",
        "headers": {"X-Test": "1"},
        "group_folder": None,
    }


def test_an_email_built_equals_the_one_init_makes():
    address = EmailAddress(pk=7, address="ayse@x.test")
    values = _email_values(address)
    built, made = model_build(Email, **values), Email(**values)
    assert _fields(built) == _fields(made)
    assert built.from_address is address  # the related object cached, no query to read it
    assert built._state.adding and built._state.db is None
    assert type(built.send_error) is type(made.send_error)  # set through its descriptor


def test_callable_defaults_are_called_for_each_instance():
    first, second = model_build(Email, subject="a"), model_build(Email, subject="b")
    assert first.headers == {} and first.headers is not second.headers


def test_an_unknown_field_is_refused_as_init_refuses_it():
    with pytest.raises(TypeError, match="subjekt"):
        model_build(Email, subjekt="typo")


def test_a_model_something_listens_to_at_init_is_built_by_init():
    heard = []

    def listen(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listen, sender=Case)
    try:
        case = model_build(Case, name="Printer")
    finally:
        post_init.disconnect(listen, sender=Case)
    assert heard == [case]


@pytest.mark.django_db
def test_built_instances_insert_and_read_back_as_made_ones():
    address = EmailAddress.objects.create(address="ayse@x.test")
    built = model_build(Email, **_email_values(address))
    bulk_insert([built])
    assert _fields(Email.objects.get(pk=built.pk)) == _fields(built)
