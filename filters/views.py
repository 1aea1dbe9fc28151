"""Filter screens: "My filters" for everyone, Email Filters in Administration, and the form
with its dry run.

Access: a filter the user cannot see answers 404 (``filters.access.get_filter_for``); one they
can see but not manage, or a scope they may not create in, answers 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import is_admin
from crm.administration.views import admin_required
from filters.access import check_can_manage_filter, filter_scopes_for, get_filter_for
from filters.dry_run import DEFAULT_LIMIT, filter_dry_run
from filters.forms import EmailFilterForm
from filters.lists import (
    admin_shared_filter_lists,
    create_url,
    filter_owners,
    my_filter_lists,
    user_filter_lists,
)
from filters.models import EmailFilter
from filters.services import (
    filter_delete,
    filter_move,
    filter_new,
    filter_save_with_new_folder,
    filter_set_active,
    folder_for_new_name,
)
from filters.skipped import filter_skipped_messages, skipped_message_for
from mailboxes.exceptions import MailError
from mailboxes.intake.fetch import raw_message_import_anyway
from mailboxes.models import PersonalEmailAccount

Action = EmailFilter.Action
Scope = EmailFilter.Scope

SHARED_SCOPES = (Scope.GLOBAL, Scope.GROUP_ACCOUNT)
DRY_RUN = "dry_run"
OWNERS_PAGE_SIZE = 20  # users whose own filters one page of Administration shows


@login_required
def my_filters(request: HttpRequest) -> HttpResponse:
    return render(request, "filters/my_filters.html", {"lists": my_filter_lists(request.user)})


@admin_required
def admin_filters(request: HttpRequest) -> HttpResponse:
    """Shared lists in full; users' own lists a page of users at a time, searchable."""
    query = request.GET.get("q", "").strip()
    owners = Paginator(filter_owners(query), OWNERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "filters/admin_filters.html",
        {
            "shared_lists": admin_shared_filter_lists(),
            "user_lists": user_filter_lists(owners.object_list),
            "page_obj": owners,
            "q": query,
            "nav_section": "administration",
        },
    )


@login_required
def filter_create(request: HttpRequest) -> HttpResponse:
    """A new filter of the scope in ``?scope=`` (an inbox filter by default)."""
    scope = request.GET.get("scope") or Scope.USER_INBOX
    filter_obj = filter_new(user=request.user, scope=scope)
    initial = {}
    if request.GET.get("account", "").isdigit():
        field = "group_account" if scope == Scope.GROUP_ACCOUNT else "personal_account"
        initial[field] = int(request.GET["account"])
    return _filter_form(request, filter_obj, initial=initial)


@login_required
def filter_edit(request: HttpRequest, pk: int) -> HttpResponse:
    filter_obj = get_filter_for(request.user, pk)
    check_can_manage_filter(request.user, filter_obj)
    return _filter_form(request, filter_obj)


def _filter_form(request: HttpRequest, filter_obj: EmailFilter, *, initial=None) -> HttpResponse:
    """The form of a new or existing filter: Save, or try it with a dry run (saves nothing)."""
    is_new = filter_obj.pk is None
    stored_name = filter_obj.name
    dry_run = request.method == "POST" and DRY_RUN in request.POST
    form = EmailFilterForm(
        request.POST or None,
        instance=filter_obj,
        initial=initial,
        user=request.user,
        dry_run=dry_run,
    )
    results = None
    if request.method == "POST" and form.is_valid():
        filter_obj = form.instance
        if dry_run:
            results = _dry_run(request, form, filter_obj)
        elif _save(request, form, filter_obj):
            if is_new:
                message = _("Filter “%(name)s” was created.")
            else:
                message = _("Filter “%(name)s” was saved.")
            messages.success(request, message % {"name": filter_obj.name})
            return redirect(_list_url(request.user, filter_obj))
    context = {
        "form": form,
        "filter": filter_obj,
        "is_new": is_new,
        "stored_name": stored_name,
        "results": results,
        "matched_count": sum(r.matched for r in results or []),
        "dry_run_limit": DEFAULT_LIMIT,
        "list_url": _list_url(request.user, filter_obj),
        "in_administration": _in_administration(request.user, filter_obj),
        "scope_tabs": _scope_tabs(request.user, filter_obj) if is_new else [],
    }
    if dry_run and request.headers.get("HX-Request"):
        return render(request, "filters/_dry_run.html", context)
    if context["in_administration"]:
        context["nav_section"] = "administration"
    return render(request, "filters/filter_form.html", context)


def _save(request: HttpRequest, form: EmailFilterForm, filter_obj: EmailFilter) -> bool:
    try:
        filter_save_with_new_folder(
            user=request.user,
            filter_obj=filter_obj,
            new_folder=form.cleaned_data.get("new_folder", ""),
        )
    except ValidationError as exc:
        form.add_model_errors(exc)
        return False
    return True


def _dry_run(request: HttpRequest, form: EmailFilterForm, filter_obj: EmailFilter):
    """What the unsaved filter would do; nothing is written (a new folder is rolled back)."""
    check_can_manage_filter(request.user, filter_obj)
    try:
        with transaction.atomic():
            folder_for_new_name(filter_obj, form.cleaned_data.get("new_folder", ""))
            filter_obj.full_clean(exclude=["name"])
            results = filter_dry_run(user=request.user, filter_obj=filter_obj)
            transaction.set_rollback(True)
    except ValidationError as exc:
        form.add_model_errors(exc)
        return None
    return results


@login_required
@require_POST
def filter_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Up and down buttons: ``step`` is -1 (earlier) or 1 (later)."""
    filter_obj = get_filter_for(request.user, pk)
    step = -1 if request.POST.get("step") == "-1" else 1
    filter_move(user=request.user, filter_obj=filter_obj, step=step)
    return redirect(_next_url(request, filter_obj))


@login_required
@require_POST
def filter_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    filter_obj = get_filter_for(request.user, pk)
    active = request.POST.get("active") == "1"
    filter_set_active(user=request.user, filter_obj=filter_obj, active=active)
    message = _("Filter “%(name)s” is on.") if active else _("Filter “%(name)s” is off.")
    messages.success(request, message % {"name": filter_obj.name})
    return redirect(_next_url(request, filter_obj))


@login_required
def filter_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    filter_obj = get_filter_for(request.user, pk)
    check_can_manage_filter(request.user, filter_obj)
    if request.method == "POST":
        filter_delete(user=request.user, filter_obj=filter_obj)
        messages.success(request, _("Filter “%(name)s” was deleted.") % {"name": filter_obj.name})
        return redirect(_list_url(request.user, filter_obj))
    in_administration = _in_administration(request.user, filter_obj)
    return render(
        request,
        "filters/filter_confirm_delete.html",
        {
            "filter": filter_obj,
            "list_url": _list_url(request.user, filter_obj),
            "in_administration": in_administration,
            **({"nav_section": "administration"} if in_administration else {}),
        },
    )


SKIPPED_PAGE_SIZE = 50


@login_required
def filter_skipped(request: HttpRequest, pk: int) -> HttpResponse:
    """What the filter skipped, with "Import it anyway" on each message still skipped."""
    filter_obj = get_filter_for(request.user, pk)
    check_can_manage_filter(request.user, filter_obj)
    page = Paginator(filter_skipped_messages(filter_obj), SKIPPED_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    in_administration = _in_administration(request.user, filter_obj)
    return render(
        request,
        "filters/filter_skipped.html",
        {
            "filter": filter_obj,
            "page_obj": page,
            "list_url": _list_url(request.user, filter_obj),
            "in_administration": in_administration,
            **({"nav_section": "administration"} if in_administration else {}),
        },
    )


@login_required
@require_POST
def filter_skipped_import(request: HttpRequest, pk: int, raw_pk: int) -> HttpResponse:
    """ "Import it anyway": the message goes through the intake as if no filter skipped it."""
    filter_obj = get_filter_for(request.user, pk)
    raw = skipped_message_for(request.user, filter_obj, raw_pk)
    try:
        outcome = raw_message_import_anyway(raw.pk)
    except MailError as exc:
        messages.error(request, str(exc))
    else:
        texts = {
            "imported": _("The message was imported."),
            "duplicates": _(
                "The message was already in Postaci; it is now linked to this mailbox."
            ),
            "quarantined": _("The message could not be imported; it is in the quarantine."),
        }
        text = texts.get(outcome, _("The message was imported already."))
        if outcome == "quarantined":
            messages.error(request, text)
        else:
            messages.success(request, text)
    return redirect("filters:skipped", pk=filter_obj.pk)


def _in_administration(user, filter_obj: EmailFilter) -> bool:
    """Shared filters and other people's filters live in Administration; own ones in My
    filters."""
    return is_admin(user) and (filter_obj.scope in SHARED_SCOPES or filter_obj.user_id != user.pk)


def _list_url(user, filter_obj: EmailFilter) -> str:
    if _in_administration(user, filter_obj):
        return reverse("filters:admin-list")
    return reverse("filters:my-list")


def _next_url(request: HttpRequest, filter_obj: EmailFilter) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return _list_url(request.user, filter_obj)


def _scope_tabs(user, filter_obj: EmailFilter) -> list[dict]:
    """The kinds of filter a new one can be, among those of the same screen."""
    labels = {
        Scope.USER_INBOX: _("Inbox filter"),
        Scope.PERSONAL_ACCOUNT: _("Personal account filter"),
        Scope.GROUP_ACCOUNT: _("Group account filter"),
        Scope.GLOBAL: _("Global filter"),
    }
    shared = filter_obj.scope in SHARED_SCOPES
    tabs = []
    for scope in filter_scopes_for(user):
        if (scope in SHARED_SCOPES) != shared:
            continue
        if (
            scope == Scope.PERSONAL_ACCOUNT
            and not PersonalEmailAccount.objects.filter(owner=user).exists()
        ):
            continue
        tabs.append(
            {"label": labels[scope], "url": create_url(scope), "current": scope == filter_obj.scope}
        )
    return tabs if len(tabs) > 1 else []
