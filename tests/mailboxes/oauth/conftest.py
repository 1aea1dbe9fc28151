"""OAuth accounts against the real test provider (``oauth_server``, tests/servers/oauth.py):
the session's Dovecot asks its introspection endpoint about every XOAUTH2 login, and so does
``oauth_smtp``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from mailboxes.connection.credentials import tokens_store
from mailboxes.connection.oauth import TokenSet, confirmed_address
from mailboxes.models import (
    AuthMethod,
    GroupEmailAccount,
    OAuthProvider,
    PersonalEmailAccount,
    Security,
)
from tests.servers.dovecot import ImapUser
from tests.servers.oauth import OAuthClient
from tests.servers.smtp import SmtpServer

CALLBACK = "http://testserver/emails/oauth/callback/"


@pytest.fixture
def oauth_smtp(smtp_server_factory) -> SmtpServer:
    """An SMTP server taking AUTH XOAUTH2 with the provider's tokens."""
    return smtp_server_factory(oauth=True)


@pytest.fixture
def oauth_client(oauth_server) -> OAuthClient:
    """Postaci registered at the provider (the test client's callback); tokens live 5 s."""
    return oauth_server.add_client(redirect_uris=[CALLBACK], name="Postaci")


@pytest.fixture
def oauth_provider(db, oauth_server, oauth_client) -> OAuthProvider:
    urls = oauth_server.endpoints
    return OAuthProvider.objects.create(
        kind=OAuthProvider.Kind.GENERIC,
        name=f"Test provider {oauth_client.client_id}",
        client_id=oauth_client.client_id,
        client_secret=oauth_client.client_secret,
        authorize_url=urls.authorize,
        token_url=urls.token,
        revoke_url=urls.revoke,
        userinfo_url=urls.userinfo,
        scopes="openid email offline_access",
    )


@dataclass
class OAuthMailbox:
    """A mailbox at Dovecot whose owner has an account at the provider."""

    imap_user: ImapUser

    @property
    def address(self) -> str:
        return self.imap_user.email


@pytest.fixture
def oauth_mailbox(imap_oauth_user) -> OAuthMailbox:
    return OAuthMailbox(imap_oauth_user)


def _oauth_fields(dovecot, smtp, provider, mailbox) -> dict:
    return {
        "name": f"OAuth {mailbox.address}",
        "email_address": mailbox.address,
        "imap_host": dovecot.host,
        "imap_port": dovecot.imap_port,
        "imap_security": Security.NONE,
        "use_smtp": smtp is not None,
        "smtp_host": smtp.host if smtp else "",
        "smtp_port": smtp.port if smtp else 587,
        "smtp_security": Security.NONE,
        "auth_method": AuthMethod.OAUTH,
        "oauth_provider": provider,
    }


def connect(account, oauth_server, client: OAuthClient) -> None:
    """What a consent at the provider ends in: tokens stored on the account."""
    token = oauth_server.issue_tokens(client.client_id, account.email_address)
    tokens = TokenSet(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
    )
    tokens_store(account, tokens, address=confirmed_address(account.oauth_provider, token))


@pytest.fixture
def make_oauth_account(dovecot, oauth_server, oauth_client, oauth_provider):
    """``make(mailbox, smtp=None, owner=None, connected=True, **fields)``: a group account
    (or a personal one with ``owner``) that signs in with OAuth, connected by default."""

    def make(mailbox, *, smtp=None, owner=None, connected=True, **fields):
        values = {**_oauth_fields(dovecot, smtp, oauth_provider, mailbox), **fields}
        if owner is not None:
            account = PersonalEmailAccount.objects.create(owner=owner, **values)
        else:
            account = GroupEmailAccount.objects.create(**values)
        if connected:
            connect(account, oauth_server, oauth_client)
            account.refresh_from_db()
        return account

    return make


@pytest.fixture
def admin(db):
    from crm.models import User

    return User.objects.create_user(
        "oauth-admin", password="correct horse battery", is_superuser=True, is_staff=True
    )


@pytest.fixture
def make_user(db):
    from crm.models import User

    def make(username: str):
        return User.objects.create_user(username, password="correct horse battery")

    return make
