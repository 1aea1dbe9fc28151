"""Connect, callback and Disconnect of OAuth 2.0 sign-in, and Administration › Email providers.

Who may do what: connecting an account is for whoever may manage it (group accounts:
administrators; personal accounts: the owner or an administrator), the same rule as editing
it. The callback trusts nothing it is given: the ``state`` must be signed by this site, not
expired, issued to this user in this browser session for that account, and unused (it is
removed from the session before the code is exchanged).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from crm.access import is_admin
from mailboxes.connection.credentials import tokens_forget, tokens_store
from mailboxes.connection.oauth import (
    MICROSOFT,
    OAuthError,
    authorization_finish,
    authorization_start,
    client_credentials_token,
    state_read,
    token_revoke,
)
from mailboxes.forms import OAuthProviderForm
from mailboxes.models import OAuthFlow, OAuthProvider
from mailboxes.views.accounts import GROUP, PERSONAL, _account, _url

logger = logging.getLogger(__name__)
SESSION_KEY = "mailboxes_oauth_pending"
MAX_PENDING = 5  # sign-ins a browser may have open at once (tabs)


def redirect_uri(request: HttpRequest) -> str:
    """The one callback address to register at every provider."""
    return request.build_absolute_uri(reverse("mailboxes:oauth-callback"))


def _refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "mailboxes/oauth_refused.html", {"message": message}, status=status)


# --- Connect, callback, Disconnect ----------------------------------------------------------


@require_POST
@login_required
def oauth_connect(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Send the browser to the provider (authorization code + PKCE), or for a Microsoft
    shared mailbox get an app token at once (client credentials, no person's consent)."""
    account = _account(request, kind, pk)
    provider = account.oauth_provider
    if not account.uses_oauth or provider is None:
        messages.error(request, _("Choose “Sign in with a provider” and a provider first."))
        return redirect(_url(kind, "edit", account.pk))
    if account.oauth_flow == OAuthFlow.CLIENT_CREDENTIALS:
        return _connect_app(request, kind, account)
    try:
        authorization = authorization_start(
            provider,
            account_id=account.pk,
            user_id=request.user.pk,
            redirect_uri=redirect_uri(request),
        )
    except OAuthError as exc:
        messages.error(request, str(exc))
        return redirect(_url(kind, "detail", account.pk))
    pending = dict(request.session.get(SESSION_KEY, {}))
    while len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))
    pending[authorization.state] = {
        "account": account.pk,
        "kind": kind,
        "verifier": authorization.code_verifier,
    }
    request.session[SESSION_KEY] = pending
    return HttpResponseRedirect(authorization.url)


@sensitive_variables("tokens")
def _connect_app(request: HttpRequest, kind: str, account) -> HttpResponse:
    if kind != GROUP:
        raise PermissionDenied
    try:
        tokens = client_credentials_token(account.oauth_provider)
    except OAuthError as exc:
        messages.error(request, str(exc))
        return redirect(_url(kind, "detail", account.pk))
    address = account.imap_username or account.email_address
    tokens_store(account, tokens, address=address)
    messages.success(
        request,
        _("Connected: Postaci signs in to %(address)s as the app.") % {"address": address},
    )
    return redirect(_url(kind, "detail", account.pk))


@sensitive_variables("pending", "entry", "tokens", "code")
@login_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back: check the state, exchange the code."""
    state = request.GET.get("state", "")
    if not state:
        return _refuse(request, _("The sign-in came back without its state; start it again."))
    try:
        payload = state_read(state)
    except signing.SignatureExpired:
        return _refuse(request, _("The sign-in took too long and has expired; start it again."))
    except signing.BadSignature:
        return _refuse(request, _("This sign-in was not started here; start it again."))
    if payload.get("u") != request.user.pk:
        return _refuse(request, _("This sign-in was started by another user."), status=403)
    pending = dict(request.session.get(SESSION_KEY, {}))
    entry = pending.pop(state, None)
    request.session[SESSION_KEY] = pending  # single use, even when what follows fails
    if entry is None or entry.get("account") != payload.get("a"):
        return _refuse(request, _("This sign-in was already used or not started in this browser."))
    kind = entry["kind"] if entry.get("kind") in (GROUP, PERSONAL) else PERSONAL
    try:
        account = _account(request, kind, entry["account"])
    except Http404:
        return _refuse(request, _("You may not connect this account."), status=403)
    detail = _url(kind, "detail", account.pk)
    if request.GET.get("error"):
        words = request.GET.get("error_description") or request.GET["error"]
        messages.error(
            request, _("The provider did not connect the account: %(reason)s") % {"reason": words}
        )
        return redirect(detail)
    code = request.GET.get("code", "")
    if not code or account.oauth_provider is None:
        return _refuse(request, _("The sign-in came back without an authorization code."))
    try:
        tokens = authorization_finish(
            account.oauth_provider,
            code=code,
            code_verifier=entry["verifier"],
            redirect_uri=redirect_uri(request),
        )
    except OAuthError as exc:
        messages.error(request, str(exc))
        return redirect(detail)
    address = tokens.address or account.email_address
    tokens_store(account, tokens, address=address)
    messages.success(request, _("Connected as %(address)s.") % {"address": address})
    if tokens.address and tokens.address != account.email_address:
        messages.warning(
            request,
            _(
                "The provider confirmed %(confirmed)s, not the account's address %(address)s; "
                "Postaci signs in as %(confirmed)s."
            )
            % {"confirmed": tokens.address, "address": account.email_address},
        )
    return redirect(detail)


@require_POST
@login_required
def oauth_disconnect(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Revoke the grant at the provider (where it can) and forget the tokens here."""
    account = _account(request, kind, pk)
    provider = account.oauth_provider
    token = account.oauth_refresh_token or account.oauth_access_token
    hint = "refresh_token" if account.oauth_refresh_token else "access_token"
    revoked = False
    if provider is not None and token:
        try:
            revoked = token_revoke(provider, token, hint)
        except OAuthError as exc:
            messages.warning(request, str(exc))
    tokens_forget(account)
    if revoked:
        messages.success(request, _("Disconnected; the provider revoked the access."))
    elif provider is not None and provider.kind == MICROSOFT:
        messages.success(
            request,
            _(
                "Disconnected; Postaci forgot the tokens. Microsoft cannot revoke one app's "
                "access by request: remove Postaci at myapps.microsoft.com (or an "
                "administrator in Entra ID › Enterprise applications) to end it there too."
            ),
        )
    else:
        messages.success(request, _("Disconnected; Postaci forgot the tokens."))
    return redirect(_url(kind, "detail", account.pk))


# --- Administration › Email providers -------------------------------------------------------


def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise PermissionDenied


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(
        request,
        "mailboxes/oauth_provider_list.html",
        {
            "nav_section": "administration",
            "providers": OAuthProvider.objects.all(),
            "redirect_uri": redirect_uri(request),
        },
    )


@sensitive_post_parameters("client_secret")
@login_required
def provider_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    provider = get_object_or_404(OAuthProvider, pk=pk) if pk else OAuthProvider()
    form = OAuthProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        provider = form.save()
        messages.success(request, _("Provider “%(name)s” was saved.") % {"name": provider.name})
        return redirect("mailboxes:oauth-provider-list")
    return render(
        request,
        "mailboxes/oauth_provider_form.html",
        {
            "nav_section": "administration",
            "form": form,
            "obj": provider,
            "redirect_uri": redirect_uri(request),
        },
    )


@login_required
def provider_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    provider = get_object_or_404(OAuthProvider, pk=pk)
    in_use = provider.accounts.count()
    if request.method == "POST" and not in_use:
        provider.delete()
        messages.success(request, _("Provider “%(name)s” was deleted.") % {"name": provider.name})
        return redirect("mailboxes:oauth-provider-list")
    return render(
        request,
        "mailboxes/oauth_provider_delete.html",
        {"nav_section": "administration", "obj": provider, "in_use": in_use},
    )
