"""Who may send as which address: the From list shows exactly the allowed addresses and the
server refuses any other, whatever the form was made to post."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crm.access import clear_access_cache
from crm.models import Team, TeamMembership
from mailboxes.models import Email
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.exceptions import FromNotAllowed
from mailboxes.sending.permissions import sending_identities
from mailboxes.sending.send import email_send
from tests.mailboxes.sending.conftest import role

pytestmark = pytest.mark.django_db


def _from_options(client) -> set[int]:
    html = client.get(reverse("mailboxes:compose")).content.decode()
    select = re.search(r'<select name="from_account".*?</select>', html, re.S)
    return {int(v) for v in re.findall(r'value="(\d+)"', select.group(0))} if select else set()


def _post(client, account_id, **extra):
    data = {
        "from_account": account_id,
        "to": "customer@example.com",
        "subject": "Hello",
        "body": "Hi",
        "action": "send",
        **extra,
    }
    return client.post(reverse("mailboxes:compose"), data)


@pytest.mark.parametrize("level", ["no", "team", "all"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("member", [True, False])
def test_group_address_matrix_enforced_on_post(
    level, shared, member, make_user, make_smtp_group, smtp_server, logged_in
):
    team = Team.objects.create(name="Support")
    account = make_smtp_group(smtp_server, teams=[team], smtp_is_shared=shared)
    agent = make_user(roles=[role(level)], teams=[team] if member else [])
    allowed = shared and (level == "all" or (level == "team" and member))
    client = logged_in(agent)

    assert (account.pk in _from_options(client)) is allowed
    response = _post(client, account.pk)

    if allowed:
        assert response.status_code == 302
        email = Email.objects.get()
        assert (email.status, email.send_account_id) == (Email.Status.SENDING, account.pk)
    else:
        assert response.status_code == 200
        assert "You may not send from this address." in response.content.decode()
        assert not Email.objects.exists()
        with pytest.raises(FromNotAllowed):
            email_send(
                user=agent,
                data=ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")]),
            )
        assert not Email.objects.exists()


def test_admin_may_send_as_any_group_address_even_unshared(
    make_user, make_smtp_group, smtp_server, logged_in
):
    account = make_smtp_group(smtp_server, smtp_is_shared=False)
    client = logged_in(make_user(admin=True))
    assert account.pk in _from_options(client)
    assert _post(client, account.pk).status_code == 302


def test_accounts_without_smtp_or_inactive_are_never_offered(
    make_user, make_smtp_group, smtp_server
):
    off = make_smtp_group(smtp_server, use_smtp=False)
    inactive = make_smtp_group(smtp_server, status="inactive")
    usable = make_smtp_group(smtp_server)
    admin = make_user(admin=True)
    assert [i.account_id for i in sending_identities(admin)] == [usable.pk]
    assert {off.pk, inactive.pk}.isdisjoint(i.account_id for i in sending_identities(admin))


def test_personal_address_only_for_its_owner_not_even_an_admin(
    make_user, make_smtp_personal, smtp_server, logged_in
):
    owner = make_user(first_name="Ayşe", last_name="Yılmaz")
    account = make_smtp_personal(owner, smtp_server)
    admin = make_user(admin=True)

    assert _from_options(logged_in(admin)) == set()
    response = _post(logged_in(admin), account.pk)
    assert response.status_code == 200 and not Email.objects.exists()

    [identity] = sending_identities(owner)
    assert (identity.account_id, identity.name) == (account.pk, "Ayşe Yılmaz")
    assert _post(logged_in(owner), account.pk).status_code == 302


def test_team_level_needs_a_shared_team_with_the_account(make_user, make_smtp_group, smtp_server):
    sales, support = Team.objects.create(name="Sales"), Team.objects.create(name="Support")
    account = make_smtp_group(smtp_server, teams=[support])
    agent = make_user(roles=[role("team")], teams=[sales])
    assert sending_identities(agent) == []
    TeamMembership.objects.create(team=support, user=agent)
    clear_access_cache(agent)
    assert [i.account_id for i in sending_identities(agent)] == [account.pk]


def test_retry_rechecks_the_sender_permission(make_user, make_smtp_group, smtp_server):
    from mailboxes.sending.delivery import email_deliver
    from mailboxes.sending.send import email_retry

    team = Team.objects.create(name="Support")
    account = make_smtp_group(smtp_server, teams=[team])
    agent = make_user(roles=[role("all")])
    email = email_send(
        user=agent,
        data=ComposeData(from_account_id=account.pk, to=[Mailbox("customer@example.com")]),
    )
    smtp_server.fail_next(1, code=550)
    assert email_deliver(email.pk).status == "failed"
    account.smtp_is_shared = False
    account.save()
    with pytest.raises(FromNotAllowed):
        email_retry(email=Email.objects.get(pk=email.pk), user=agent)
