"""A grant revoked at the provider: "Reconnect needed", one notification, others go on."""

from __future__ import annotations

import pytest

from crm.models import Notification
from mailboxes.intake.fetch import fetch_account
from mailboxes.intake.health import accounts_due_for_fetch
from mailboxes.intake.watch import watch_targets
from mailboxes.models import Email, MailAccount, OAuthState
from mailboxes.sending.exceptions import DeliveryError
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db


def _revoke_and_expire(oauth_server, address):
    oauth_server.revoke_user(address)
    oauth_server.expire_access_tokens(user=address)


def test_revoked_grant_marks_group_account_reconnect_needed_and_notifies_admins_once(
    admin, dovecot, oauth_server, oauth_mailbox, make_oauth_account
):
    account = make_oauth_account(oauth_mailbox)
    healthy_mailbox = dovecot.add_user("o", domain="example.test")
    oauth_server.add_user(healthy_mailbox.email)
    from tests.mailboxes.oauth.conftest import OAuthMailbox

    healthy = make_oauth_account(OAuthMailbox(healthy_mailbox))
    _revoke_and_expire(oauth_server, oauth_mailbox.address)
    dovecot.deliver(healthy_mailbox, make_message(subject="Still fetched"))

    for _poll in range(3):
        for account_id in accounts_due_for_fetch(MailAccount.Kind.GROUP).values_list(
            "pk", flat=True
        ):
            fetch_account(account_id)

    account.refresh_from_db()
    assert account.oauth_state == OAuthState.RECONNECT_NEEDED
    assert "invalid_grant" in account.oauth_state_params["reason"]
    assert account.oauth_refresh_token == "" and account.oauth_access_token == ""
    notes = Notification.objects.filter(user=admin, data__kind="oauth_reconnect")
    assert notes.count() == 1
    assert account.name in str(notes.get().message)
    # no more attempts until someone reconnects: polls and the watcher leave it alone
    assert account.pk not in accounts_due_for_fetch(MailAccount.Kind.GROUP).values_list(
        "pk", flat=True
    )
    assert account.pk not in {t.account_id for t in watch_targets()}
    assert oauth_server.count_token_requests(user=oauth_mailbox.address, succeeded=False) == 1
    assert Email.objects.filter(subject="Still fetched").exists()
    healthy.refresh_from_db()
    assert healthy.oauth_state == OAuthState.CONNECTED


def test_revoked_grant_of_personal_account_notifies_its_owner_and_fails_sending(
    admin, make_user, oauth_smtp, oauth_server, oauth_mailbox, make_oauth_account
):
    owner = make_user("mira")
    account = make_oauth_account(oauth_mailbox, owner=owner, smtp=oauth_smtp)
    _revoke_and_expire(oauth_server, oauth_mailbox.address)

    # the server refuses the expired token; the forced refresh answers invalid_grant
    with pytest.raises(DeliveryError) as refused:
        smtp_deliver(
            SmtpSettings.of(MailAccount.objects.get(pk=account.pk)),
            make_message(sender=oauth_mailbox.address),
            envelope_from=oauth_mailbox.address,
            envelope_to=["customer@example.com"],
        )
    fetch_account(account.pk)

    assert refused.value.code == "reconnect_needed" and not refused.value.transient
    assert Notification.objects.filter(user=owner, data__kind="oauth_reconnect").count() == 1
    assert not Notification.objects.filter(user=admin).exists()
    assert oauth_smtp.messages == []
    assert [a.success for a in oauth_smtp.auth_attempts] == [False]
