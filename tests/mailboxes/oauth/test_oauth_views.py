"""Connect, callback and Disconnect through the web pages; state/code security; no secret
in any page; Administration › Email providers."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from mailboxes.models import MailAccount, OAuthProvider, OAuthState

pytestmark = pytest.mark.django_db


def _start(client: Client, account) -> str:
    """Click Connect; return the provider URL the browser is sent to."""
    kind = "group" if account.is_group else "personal"
    response = client.post(reverse(f"mailboxes:{kind}-account-connect", args=[account.pk]))
    assert response.status_code == 302
    return response["Location"]


def _callback_path(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def test_connect_consent_and_callback_connect_the_group_account(
    client, admin, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, connected=False)
    client.force_login(admin)

    authorize = _start(client, account)
    assert authorize.startswith(oauth_server.endpoints.authorize)
    assert "code_challenge_method=S256" in authorize
    back = oauth_server.approve(authorize, login=oauth_mailbox.address)
    response = client.get(_callback_path(back), follow=True)

    account.refresh_from_db()
    assert account.oauth_state == OAuthState.CONNECTED
    assert account.oauth_address == oauth_mailbox.address
    assert oauth_server.is_active(account.oauth_access_token)
    assert account.fetch_requested_at is not None  # fetched at once, not at the next poll
    page = response.content.decode()
    assert f"Connected as {oauth_mailbox.address}" in page
    assert 'data-testid="oauth-disconnect"' in page


def test_callback_without_state_or_code_or_with_a_forged_state_is_refused(
    client, admin, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, connected=False)
    client.force_login(admin)
    callback = reverse("mailboxes:oauth-callback")
    back = oauth_server.approve(_start(client, account), login=oauth_mailbox.address)
    query = dict(part.split("=", 1) for part in urlsplit(back).query.split("&"))

    assert client.get(f"{callback}?code={query['code']}").status_code == 400
    assert client.get(f"{callback}?code={query['code']}&state=forged.state").status_code == 400
    assert client.get(f"{callback}?state={query['state']}").status_code == 400

    account.refresh_from_db()
    assert account.oauth_state == OAuthState.NOT_CONNECTED
    assert not oauth_server.count_token_requests(client_id=oauth_client.client_id)


def test_replayed_callback_is_refused_and_exchanges_the_code_once(
    client, admin, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox, connected=False)
    client.force_login(admin)
    back = _callback_path(
        oauth_server.approve(_start(client, account), login=oauth_mailbox.address)
    )
    assert client.get(back).status_code == 302

    replay = client.get(back)

    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert (
        oauth_server.count_token_requests(
            grant_type="authorization_code", client_id=oauth_client.client_id
        )
        == 1
    )


def test_state_started_by_another_user_is_refused(
    client, admin, make_user, oauth_mailbox, make_oauth_account, oauth_server
):
    owner = make_user("owner")
    account = make_oauth_account(oauth_mailbox, owner=owner, connected=False)
    client.force_login(owner)
    back = _callback_path(
        oauth_server.approve(_start(client, account), login=oauth_mailbox.address)
    )

    intruder = Client()
    intruder.force_login(make_user("intruder"))
    refused = intruder.get(back)
    admin_client = Client()
    admin_client.force_login(admin)  # even an administrator's session is another session

    assert refused.status_code == 403
    assert admin_client.get(back).status_code == 403
    account.refresh_from_db()
    assert account.oauth_state == OAuthState.NOT_CONNECTED


def test_user_cannot_connect_or_disconnect_an_account_they_do_not_own(
    client, make_user, oauth_mailbox, make_oauth_account
):
    account = make_oauth_account(oauth_mailbox, owner=make_user("owner"))
    group = make_oauth_account(oauth_mailbox, name="Support")
    client.force_login(make_user("other"))

    for kind, target in (("personal", account), ("group", group)):
        for action in ("connect", "disconnect"):
            url = reverse(f"mailboxes:{kind}-account-{action}", args=[target.pk])
            assert client.post(url).status_code in (403, 404)
    account.refresh_from_db()
    assert account.oauth_state == OAuthState.CONNECTED


def test_denied_consent_leaves_the_account_unconnected_with_a_message(
    client, make_user, oauth_mailbox, make_oauth_account, oauth_server
):
    owner = make_user("owner")
    account = make_oauth_account(oauth_mailbox, owner=owner, connected=False)
    client.force_login(owner)
    back = oauth_server.approve(_start(client, account), login=oauth_mailbox.address, allow=False)

    page = client.get(_callback_path(back), follow=True).content.decode()

    assert "did not connect the account" in page
    account.refresh_from_db()
    assert account.oauth_state == OAuthState.NOT_CONNECTED


def test_disconnect_revokes_at_the_provider_and_forgets_the_tokens(
    client, admin, oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    account = make_oauth_account(oauth_mailbox)
    token = account.oauth_access_token
    client.force_login(admin)

    client.post(reverse("mailboxes:group-account-disconnect", args=[account.pk]))

    account.refresh_from_db()
    assert account.oauth_state == OAuthState.NOT_CONNECTED
    assert account.oauth_refresh_token == "" and account.oauth_access_token == ""
    assert not oauth_server.is_active(token)
    assert [r.revoked for r in oauth_server.revocations if r.client_id == oauth_client.client_id]


def test_no_token_or_client_secret_in_any_page_or_column(
    client, admin, oauth_mailbox, make_oauth_account, oauth_provider, oauth_client
):
    group = make_oauth_account(oauth_mailbox)
    personal = make_oauth_account(oauth_mailbox, owner=admin)
    secrets = {
        oauth_client.client_secret,
        group.oauth_access_token,
        group.oauth_refresh_token,
        personal.oauth_access_token,
        personal.oauth_refresh_token,
    }
    client.force_login(admin)
    pages = [
        reverse("mailboxes:group-account-detail", args=[group.pk]),
        reverse("mailboxes:group-account-edit", args=[group.pk]),
        reverse("mailboxes:group-account-list"),
        reverse("mailboxes:personal-account-detail", args=[personal.pk]),
        reverse("mailboxes:personal-account-edit", args=[personal.pk]),
        reverse("mailboxes:admin-personal-account-list"),
        reverse("mailboxes:oauth-provider-list"),
        reverse("mailboxes:oauth-provider-edit", args=[oauth_provider.pk]),
        reverse("admin:mailboxes_groupemailaccount_changelist"),
        reverse("admin:mailboxes_groupemailaccount_change", args=[group.pk]),
        reverse("admin:mailboxes_personalemailaccount_change", args=[personal.pk]),
        reverse("admin:mailboxes_oauthprovider_changelist"),
        reverse("admin:mailboxes_oauthprovider_change", args=[oauth_provider.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not [s for s in secrets if s in html], url
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token, oauth_refresh_token FROM mailboxes_mailaccount"
            " WHERE id = %s",
            [group.pk],
        )
        stored = " ".join(cursor.fetchone())
        cursor.execute(
            "SELECT client_secret FROM mailboxes_oauthprovider WHERE id = %s", [oauth_provider.pk]
        )
        stored += cursor.fetchone()[0]
    assert not [s for s in secrets if s in stored]


def test_administrator_adds_a_microsoft_provider_with_its_presets(client, admin, make_user):
    client.force_login(make_user("plain"))
    assert client.get(reverse("mailboxes:oauth-provider-list")).status_code == 403
    client.force_login(admin)
    page = client.get(reverse("mailboxes:oauth-provider-create")).content.decode()
    assert "http://testserver/emails/oauth/callback/" in page  # the redirect URI to paste

    client.post(
        reverse("mailboxes:oauth-provider-create"),
        {
            "kind": "microsoft",
            "name": "Contoso 365",
            "tenant": "contoso.onmicrosoft.com",
            "client_id": "11111111-2222",
            "client_secret": "s3cr3t-value",
        },
    )

    provider = OAuthProvider.objects.get(name="Contoso 365")
    assert provider.token_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in provider.scopes
    assert provider.client_secret == "s3cr3t-value"
    # left empty when editing: the stored secret stays
    data = {f: getattr(provider, f) for f in ("kind", "name", "tenant", "client_id", "scopes")}
    data.update(authorize_url=provider.authorize_url, token_url=provider.token_url)
    client.post(reverse("mailboxes:oauth-provider-edit", args=[provider.pk]), data)
    provider.refresh_from_db()
    assert provider.client_secret == "s3cr3t-value"


def test_plain_http_endpoint_outside_the_allow_list_is_refused(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("mailboxes:oauth-provider-create"),
        {
            "kind": "generic",
            "name": "Sneaky",
            "client_id": "x",
            "authorize_url": "http://example.com/authorize",
            "token_url": "http://example.com/token",
        },
    )

    assert response.status_code == 200
    assert "must be an https address" in response.content.decode()
    assert not OAuthProvider.objects.filter(name="Sneaky").exists()


def test_switching_an_account_to_oauth_needs_no_password_and_takes_the_preset_servers(
    client, admin
):
    provider = OAuthProvider.objects.create(
        kind="google", name="Google", client_id="g", client_secret="gs"
    )
    client.force_login(admin)
    response = client.post(
        reverse("mailboxes:group-account-create"),
        {
            "name": "Support",
            "email_address": "support@example.com",
            "status": "active",
            "auth_method": "oauth",
            "oauth_provider": provider.pk,
            "oauth_flow": "authorization_code",
            "use_imap": "on",
            "imap_port": 993,
            "imap_security": "ssl",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "case_distribution": "direct",
            "for_all_team_users": "on",
            "auto_reply_sender_limit": 5,
            "auto_reply_case_limit": 1,
            "auto_reply_period_minutes": 120,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    account = MailAccount.objects.get(email_address="support@example.com")
    assert (account.imap_host, account.imap_port) == ("imap.gmail.com", 993)
    assert account.uses_oauth and account.oauth_state == OAuthState.NOT_CONNECTED


def test_providers_from_the_environment_are_created_then_updated_by_the_command(settings):
    from django.core.management import call_command

    settings.POSTACI_OAUTH_PROVIDERS = [
        {"kind": "google", "name": "Workspace", "client_id": "a", "client_secret": "one"}
    ]
    call_command("oauth_providers", stdout=None)
    settings.POSTACI_OAUTH_PROVIDERS[0]["client_secret"] = "two"
    call_command("oauth_providers", stdout=None)

    provider = OAuthProvider.objects.get(name="Workspace")
    assert provider.from_environment and provider.client_secret == "two"
    assert provider.token_url == "https://oauth2.googleapis.com/token"


def test_test_connection_and_folder_picker_sign_in_with_the_stored_grant(
    client, admin, oauth_mailbox, make_oauth_account
):
    account = make_oauth_account(oauth_mailbox)
    client.force_login(admin)

    page = client.post(
        reverse("mailboxes:group-account-test", args=[account.pk]), follow=True
    ).content.decode()
    picker = client.post(
        reverse("mailboxes:group-account-test", args=[account.pk]),
        {
            "imap_host": account.imap_host,
            "imap_port": account.imap_port,
            "imap_security": account.imap_security,
            "email_address": account.email_address,
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()

    assert "The server has" in page
    assert 'value="Sent"' in picker


def test_saving_an_account_loaded_before_a_refresh_keeps_the_rotated_token(
    oauth_mailbox, make_oauth_account, oauth_server, oauth_client
):
    from mailboxes.connection.credentials import account_bearer

    account = make_oauth_account(oauth_mailbox)
    stale = MailAccount.objects.get(pk=account.pk).specific  # an edit form's instance
    MailAccount.objects.filter(pk=account.pk).update(oauth_refresh_at="2000-01-01T00:00Z")
    account_bearer(account.pk)  # meanwhile a worker refreshes: the refresh token rotates

    stale.name = "Renamed"
    stale.save()

    account.refresh_from_db()
    assert account.name == "Renamed"
    assert account.oauth_refresh_token != stale.oauth_refresh_token
    # the stored (rotated) refresh token still works at the provider
    MailAccount.objects.filter(pk=account.pk).update(oauth_refresh_at="2000-01-01T00:00Z")
    assert oauth_server.is_active(account_bearer(account.pk).token)
    assert oauth_server.refreshes(client_id=oauth_client.client_id) == 2
