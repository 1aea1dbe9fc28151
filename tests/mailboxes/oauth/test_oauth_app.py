"""Microsoft shared mailboxes: the client-credentials flow, no person's consent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, MailAccount, OAuthFlow, OAuthProvider, OAuthState
from mailboxes.sending.smtp import SmtpSettings, smtp_deliver
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def microsoft_provider(oauth_server, oauth_client) -> OAuthProvider:
    """A Microsoft-kind provider pointed at the local server (as an administrator would)."""
    base = oauth_server.url + "/contoso/oauth2/v2.0"
    return OAuthProvider.objects.create(
        kind=OAuthProvider.Kind.MICROSOFT,
        name="Contoso (local)",
        tenant="contoso",
        client_id=oauth_client.client_id,
        client_secret=oauth_client.client_secret,
        authorize_url=f"{base}/authorize",
        token_url=f"{base}/token",
    )


def test_app_connect_without_consent_fetches_and_sends_as_the_shared_mailbox(
    client,
    admin,
    dovecot,
    oauth_smtp,
    oauth_mailbox,
    make_oauth_account,
    oauth_server,
    oauth_client,
    microsoft_provider,
):
    # Exchange: Add-MailboxPermission gives the app's service principal the shared mailbox
    oauth_server.update_client(oauth_client.client_id, app_mailbox=oauth_mailbox.address)
    account = make_oauth_account(
        oauth_mailbox,
        smtp=oauth_smtp,
        connected=False,
        oauth_provider=microsoft_provider,
        oauth_flow=OAuthFlow.CLIENT_CREDENTIALS,
    )
    client.force_login(admin)

    response = client.post(reverse("mailboxes:group-account-connect", args=[account.pk]))

    assert response.status_code == 302 and response["Location"].startswith("/emails/")
    account.refresh_from_db()
    assert account.oauth_state == OAuthState.CONNECTED
    assert account.oauth_address == oauth_mailbox.address  # the shared mailbox signs in
    assert account.oauth_refresh_token == ""
    # the token expires: a new one by client credentials, no refresh token, no consent
    oauth_server.expire_access_tokens(client_id=oauth_client.client_id)
    dovecot.deliver(oauth_mailbox.imap_user, make_message(subject="For the shared box"))
    assert fetch_account(account.pk).errors == []
    smtp_deliver(
        SmtpSettings.of(MailAccount.objects.get(pk=account.pk)),
        make_message(sender=oauth_mailbox.address),
        envelope_from=oauth_mailbox.address,
        envelope_to=["customer@example.com"],
    )

    assert Email.objects.filter(subject="For the shared box").exists()
    (sent,) = oauth_smtp.wait_for_messages(1)
    assert sent.auth_mechanism == "XOAUTH2" and sent.auth_login == oauth_mailbox.address
    app_tokens = oauth_server.count_token_requests(
        grant_type="client_credentials", client_id=oauth_client.client_id, succeeded=True
    )
    assert app_tokens == 2
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 0
    assert not oauth_server.count_token_requests(grant_type="authorization_code")


def test_personal_account_cannot_use_the_app_flow(
    client, make_user, oauth_mailbox, make_oauth_account, microsoft_provider
):
    owner = make_user("owner")
    account = make_oauth_account(
        oauth_mailbox,
        owner=owner,
        connected=False,
        oauth_provider=microsoft_provider,
        oauth_flow=OAuthFlow.CLIENT_CREDENTIALS,
    )
    client.force_login(owner)

    response = client.post(reverse("mailboxes:personal-account-connect", args=[account.pk]))

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.oauth_state == OAuthState.NOT_CONNECTED
