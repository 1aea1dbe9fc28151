"""The record types an email can belong to are listed once (mailboxes.linking.parents): the compose
form, the email list's "Linked to" filter and the send check all offer exactly those."""

from __future__ import annotations

import pytest

from mailboxes.inbox.list_filters import EmailFilterSet
from mailboxes.linking.parents import email_parent_models
from mailboxes.sending.drafts import parent_resolve
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.forms import parent_type_choices

pytestmark = pytest.mark.django_db


def _labels() -> list[str]:
    return [model._meta.label_lower for model in email_parent_models().values()]


def test_compose_form_offers_every_parent_type_in_order():
    assert [value for value, _label in parent_type_choices()][1:] == _labels()


def test_email_list_filter_offers_every_parent_type_after_not_linked():
    choices = EmailFilterSet(data={}).filters["linked"].extra["choices"]
    values = [value for value, _label in (choices() if callable(choices) else choices)]
    assert values == ["none", *_labels()]


def test_a_type_emails_cannot_belong_to_is_refused_on_send(make_user):
    user = make_user("agent")
    with pytest.raises(SendError) as refused:
        parent_resolve(user, "crm.team", 1)
    assert refused.value.field == "parent_type"
