"""What IMAP and SMTP log in with: the account's password, or a fresh OAuth bearer token.

One refresh at a time per account, across every worker, ``watchmail`` process and machine:
the account row is locked (``select_for_update``) in a transaction, the expiry is read again
once the lock is ours (another process may just have refreshed), and a rotated refresh token
is saved in that same transaction as the new access token. So two workers never spend the
same refresh token twice, which a rotating provider would punish by revoking the grant.
(On SQLite, the single-machine default, transactions are IMMEDIATE: the atomic block itself
takes the write lock, with the same effect.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mailboxes.connection.oauth import (
    OAuthError,
    TokenSet,
    client_credentials_token,
    token_refresh,
)
from mailboxes.exceptions import MailConnectionError
from mailboxes.messages import (
    OAUTH_NO_PROVIDER,
    OAUTH_NO_REFRESH_TOKEN,
    OAUTH_NOT_CONNECTED,
    OAUTH_RENEW,
)
from mailboxes.models import MailAccount, OAuthFlow, OAuthState
from mailboxes.models.oauth import OAUTH_GRANT_FIELDS

logger = logging.getLogger(__name__)

RECONNECT_ERRORS = frozenset({"invalid_grant"})


class ReconnectNeeded(MailConnectionError):
    """The provider no longer honours the account's grant; someone must connect it again."""

    code = "reconnect_needed"


@dataclass(frozen=True)
class Bearer:
    """An access token to log in with. ``fresh``: just issued, so a refusal is real."""

    username: str
    token: str = field(repr=False)
    fresh: bool = False


def refresh_at(tokens: TokenSet) -> timezone.datetime | None:
    """A minute before expiry, or a quarter of the lifetime before it when that is shorter."""
    if tokens.expires_at is None:
        return None
    lifetime = (tokens.expires_at - timezone.now()).total_seconds()
    margin = min(settings.POSTACI_OAUTH_REFRESH_MARGIN, max(lifetime, 0) / 4)
    return tokens.expires_at - timedelta(seconds=margin)


def _usable(account: MailAccount) -> bool:
    if not account.oauth_access_token:
        return False
    return account.oauth_refresh_at is None or account.oauth_refresh_at > timezone.now()


def _reconnect_needed(account: MailAccount) -> ReconnectNeeded:
    reason = (account.oauth_state_params or {}).get("reason", "")
    if account.oauth_state == OAuthState.RECONNECT_NEEDED:
        message = OAUTH_RENEW()
    else:
        message = OAUTH_NOT_CONNECTED()
    return ReconnectNeeded(message, detail=reason)


@sensitive_variables("tokens", "account")
def account_bearer(account_id: int, *, force: bool = False, stale: str = "") -> Bearer:
    """A usable access token for the account, refreshed when it expires soon (or when
    ``force`` and the stored token is still ``stale``, the one the server just refused).

    Raises ``ReconnectNeeded`` when the account must be connected again (and marks it so,
    notifying once), ``OAuthError`` when the provider cannot be used right now.
    """
    account = MailAccount.objects.select_related("oauth_provider").get(pk=account_id)
    if account.oauth_state != OAuthState.CONNECTED:
        raise _reconnect_needed(account)
    if not force and _usable(account):
        return Bearer(account.oauth_login_name, account.oauth_access_token)

    failure: OAuthError | None = None
    with transaction.atomic():
        account = (
            MailAccount.objects.select_for_update(of=("self",))
            .select_related("oauth_provider")
            .get(pk=account_id)
        )
        if account.oauth_state != OAuthState.CONNECTED:
            raise _reconnect_needed(account)
        current = account.oauth_access_token
        if _usable(account) and (not force or current != stale):
            # another worker refreshed while we waited for the lock
            return Bearer(account.oauth_login_name, current, fresh=True)
        try:
            tokens = _new_tokens(account)
        except OAuthError as exc:
            failure = exc
        else:
            account.oauth_access_token = tokens.access_token
            account.oauth_expires_at = tokens.expires_at
            account.oauth_refresh_at = refresh_at(tokens)
            fields = ["oauth_access_token", "oauth_expires_at", "oauth_refresh_at"]
            if tokens.refresh_token and tokens.refresh_token != account.oauth_refresh_token:
                account.oauth_refresh_token = tokens.refresh_token  # rotated: same transaction
                fields.append("oauth_refresh_token")
            account.save(update_fields=fields)
            logger.info("Refreshed the access token of account %s", account_id)
            return Bearer(account.oauth_login_name, tokens.access_token, fresh=True)

    if failure.code in RECONNECT_ERRORS:
        from mailboxes.intake.health import account_record_reconnect_needed

        account_record_reconnect_needed(account_id, failure.detail or failure.code)
        account.refresh_from_db(fields=["oauth_state", "oauth_state_params"])
        raise _reconnect_needed(account) from None
    logger.warning("Refreshing the token of account %s failed: %s", account_id, failure.detail)
    raise failure


def _new_tokens(account: MailAccount) -> TokenSet:
    provider = account.oauth_provider
    if provider is None:
        raise OAuthError(OAUTH_NO_PROVIDER(), code="invalid_grant")
    if account.oauth_flow == OAuthFlow.CLIENT_CREDENTIALS:
        return client_credentials_token(provider)
    if not account.oauth_refresh_token:
        raise OAuthError(OAUTH_NO_REFRESH_TOKEN(), code="invalid_grant")
    return token_refresh(provider, account.oauth_refresh_token)


def tokens_store(account: MailAccount, tokens: TokenSet, *, address: str) -> None:
    """Save a new grant (after Connect): encrypted tokens, expiry, confirmed address, and a
    clean fetch health; the account is fetched at once (a reconnect does not wait for the
    next poll) and the watchers see the change."""
    account.oauth_access_token = tokens.access_token
    account.oauth_refresh_token = tokens.refresh_token
    account.oauth_expires_at = tokens.expires_at
    account.oauth_refresh_at = refresh_at(tokens)
    account.oauth_address = address
    account.oauth_state = OAuthState.CONNECTED
    account.oauth_state_params = {}
    account.oauth_connected_at = timezone.now()
    account.consecutive_failures = 0
    account.next_retry_at = None
    account.failure_notified_at = None
    account.last_error = ""
    account.save(
        update_fields=[
            *OAUTH_GRANT_FIELDS,
            "consecutive_failures",
            "next_retry_at",
            "failure_notified_at",
            "last_error",
            "modified_at",
        ]
    )
    from mailboxes.intake.health import account_request_fetch

    if account.use_imap and account.is_active:
        account_request_fetch(account)


def tokens_forget(account: MailAccount) -> None:
    """Drop every token of the account (Disconnect)."""
    account.oauth_access_token = account.oauth_refresh_token = ""
    account.oauth_expires_at = account.oauth_refresh_at = None
    account.oauth_address = ""
    account.oauth_state = OAuthState.NOT_CONNECTED
    account.oauth_state_params = {}
    account.oauth_connected_at = None
    account.save(update_fields=[*OAUTH_GRANT_FIELDS, "modified_at"])
