"""Pages of the web UI: a user's own API keys (profile) and every key (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.forms import ApiKeyForm
from api.keys import api_key_create, api_key_revoke, api_keys_of
from api.models import ApiKey
from crm.administration.views import admin_required

ADMIN_PAGE_SIZE = 50


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    """The user's keys and a form for a new one; a new key is shown once, on this answer."""
    form = ApiKeyForm(request.POST or None)
    new_key = created = None
    if request.method == "POST" and form.is_valid():
        created, new_key = api_key_create(
            user=request.user,
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            expires_at=form.expiry(),
        )
        form = ApiKeyForm()
    return render(
        request,
        "api/key_list.html",
        {
            "keys": api_keys_of(request.user),
            "form": form,
            "new_key": new_key,
            "created": created,
        },
    )


@require_POST
@login_required
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    api_key_revoke(key)
    messages.success(request, _("The key %(name)s was revoked.") % {"name": key.name})
    return redirect("api:key-list")


@admin_required
def admin_key_list(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.select_related("user").order_by("user__username", "-created_at")
    page = Paginator(keys, ADMIN_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "api/admin_key_list.html", {"page_obj": page})


@require_POST
@admin_required
def admin_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    api_key_revoke(key)
    messages.success(request, _("The key %(name)s was revoked.") % {"name": key.name})
    return redirect("api:admin-key-list")
