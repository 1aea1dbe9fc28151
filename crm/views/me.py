"""The signed-in user's own pages: notifications, preferences and language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.forms import LanguageForm, NotificationLevelsForm, PreferencesForm
from crm.models import Notification
from crm.notification_reasons import notification_preferences_save
from crm.notifications import (
    notification_target_url,
    notifications_for_user,
    notifications_mark_read,
    unread_count,
)
from crm.preferences import preference_forms

NOTIFICATIONS_PAGE_SIZE = 50


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = notifications_for_user(request.user)
    if request.GET.get("unread"):
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "crm/notifications.html",
        {"page_obj": page, "only_unread": bool(request.GET.get("unread"))},
    )


def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, with its unread count: htmx polls it so the count rises without a
    reload. Answers 286 (htmx: stop polling) once the user is logged out."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    context = {
        "unread_notification_count": unread_count(request.user),
        "notification_poll_seconds": settings.POSTACI_NOTIFICATION_POLL_SECONDS,
    }
    return render(request, "crm/_bell.html", context)


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to what it is about (the email in the record's
    stream, the email, the record)."""
    notification = get_object_or_404(
        Notification.objects.select_related("note", "related_type"), pk=pk, user=request.user
    )
    notifications_mark_read(request.user, [notification.pk])
    return HttpResponseRedirect(
        notification_target_url(notification) or reverse("crm:notifications")
    )


@require_POST
@login_required
def notification_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notifications_mark_read(request.user, [pk])
    return HttpResponseRedirect(_next_or(request, reverse("crm:notifications")))


@require_POST
@login_required
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_read(request.user)
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return HttpResponseRedirect(_next_or(request, reverse("crm:notifications")))


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The user's own details, language, digest, a level per notification reason and the
    panels other apps add (crm.preferences)."""
    user = request.user
    form = PreferencesForm(request.POST or None, instance=user)
    levels_form = NotificationLevelsForm(
        request.POST or None, choices=user.notification_preferences, prefix="notify"
    )
    panels = preference_forms(user, request.POST or None)
    valid = [f.is_valid() for f in (form, levels_form, *(panel_form for _p, panel_form in panels))]
    if request.method == "POST" and all(valid):
        with transaction.atomic():
            form.save()
            notification_preferences_save(user, levels_form.levels())
            for _panel, panel_form in panels:
                panel_form.save()
        response = redirect("crm:preferences")
        _remember_language(response, user.language)
        messages.success(request, _("Your preferences were saved."))
        return response
    return render(
        request,
        "crm/preferences.html",
        {"form": form, "levels_form": levels_form, "panels": panels},
    )


@require_POST
@login_required
def language_set(request: HttpRequest) -> HttpResponse:
    """Save the language chosen in the user menu on the user (and in the language cookie, so
    the login page speaks it too after logging out)."""
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(_next_or(request, reverse("home")))
    if form.is_valid():
        request.user.language = form.cleaned_data["language"]
        request.user.save(update_fields=["language"])
        _remember_language(response, request.user.language)
    return response


def _remember_language(response: HttpResponse, language: str) -> None:
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
