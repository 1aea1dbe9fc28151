"""Microsoft shared mailboxes: the client-credentials flow, no person's consent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.connection.credentials import account_bearer
from mailboxes.models import MailAccount, OAuthFlow, OAuthProvider, OAuthState

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


def test_app_connect_gets_a_token_without_consent_and_renews_it_by_client_credentials(
    client,
    admin,
    oauth_mailbox,
    make_oauth_account,
    oauth_server,
    oauth_client,
    microsoft_provider,
):
    account = make_oauth_account(
        oauth_mailbox,
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
    first = account.oauth_access_token
    assert oauth_server.is_active(first)

    MailAccount.objects.filter(pk=account.pk).update(oauth_refresh_at="2000-01-01T00:00Z")
    renewed = account_bearer(account.pk)

    assert renewed.token != first and oauth_server.is_active(renewed.token)
    assert (
        oauth_server.count_token_requests(
            grant_type="client_credentials", client_id=oauth_client.client_id, succeeded=True
        )
        == 2
    )
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 0
    assert not oauth_server.count_token_requests(
        grant_type="authorization_code", client_id=oauth_client.client_id
    )


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
