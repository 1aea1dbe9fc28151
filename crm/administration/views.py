"""Administration pages: users, teams, roles and scheduled jobs. Administrators only.

Other apps protect their own Administration pages with :func:`admin_required`.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError

from crm.access import is_admin
from crm.administration.forms import (
    JobForm,
    RoleForm,
    TeamForm,
    TeamMembershipFormSet,
    UserForm,
    UserMembershipFormSet,
)
from crm.administration.jobs import job_run_now, job_schedule_display, job_set_schedule
from crm.administration.menu import admin_link_groups
from crm.forms import NotificationLevelsForm
from crm.models import Role, Team, TeamMembership, User
from crm.notification_reasons import team_defaults_apply, team_defaults_save
from crm.permissions import permissions
from crm.scheduling import job_display_name
from crm.teams import known_positions
from crm.users import users_matching

USERS_PAGE_SIZE = 50
logger = logging.getLogger(__name__)


def admin_required(view):
    """Log in first; then administrators only (403 for everybody else)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/index.html", {"groups": admin_link_groups()})


def delete_confirmed(request: HttpRequest, obj, *, list_url: str, done: str) -> HttpResponse:
    """Deletes ``obj`` on POST (then says ``done`` and goes back to ``list_url``), else shows
    the page asking first: one place for every Administration delete (teams, roles, and
    other apps' pages such as webhooks)."""
    if request.method == "POST":
        obj.delete()
        messages.success(request, done)
        return redirect(list_url)
    return render(
        request, "administration/confirm_delete.html", {"obj": obj, "cancel_url": list_url}
    )


# --- Users ----------------------------------------------------------------------------------


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.prefetch_related(
        "roles", Prefetch("memberships", queryset=TeamMembership.objects.select_related("team"))
    ).order_by("username")
    query = request.GET.get("q", "").strip()
    users = users_matching(users, query)
    page = Paginator(users, USERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "administration/user_list.html", {"page_obj": page, "q": query})


@admin_required
def user_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = get_object_or_404(User, pk=pk) if pk else User()
    form = UserForm(request.POST or None, instance=user)
    formset = UserMembershipFormSet(request.POST or None, instance=user, prefix="teams")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        if user.pk == request.user.pk and not (
            form.cleaned_data["is_active"] and form.cleaned_data["is_superuser"]
        ):
            form.add_error(None, _("You cannot remove your own administrator access."))
        else:
            with transaction.atomic():
                user = form.save()
                formset.instance = user
                formset.save()
            messages.success(request, _("User %(user)s was saved.") % {"user": user})
            return redirect("administration:user-list")
    return render(
        request,
        "administration/user_form.html",
        {"form": form, "formset": formset, "obj": user, "positions": known_positions()},
    )


# --- Teams ----------------------------------------------------------------------------------


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.annotate(member_count=Count("memberships")).prefetch_related("roles")
    return render(request, "administration/team_list.html", {"teams": teams})


@admin_required
def team_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk) if pk else Team()
    form = TeamForm(request.POST or None, instance=team)
    formset = TeamMembershipFormSet(request.POST or None, instance=team, prefix="members")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            team = form.save()
            formset.instance = team
            formset.save()
        messages.success(request, _("Team %(team)s was saved.") % {"team": team})
        return redirect("administration:team-list")
    return render(
        request,
        "administration/team_form.html",
        {"form": form, "formset": formset, "obj": team, "positions": known_positions()},
    )


@admin_required
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    return delete_confirmed(
        request,
        team,
        list_url="administration:team-list",
        done=_("Team %(team)s was deleted.") % {"team": team},
    )


@admin_required
def team_notifications(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's notification defaults; "apply" also gives them to every member now."""
    team = get_object_or_404(Team, pk=pk)
    form = NotificationLevelsForm(
        request.POST or None, choices=team.notification_defaults, prefix="notify"
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            team_defaults_save(team, form.levels())
            applied = team_defaults_apply(team) if "apply" in request.POST else None
        if applied is None:
            messages.success(
                request, _("Notification defaults of %(team)s were saved.") % {"team": team}
            )
        else:
            messages.success(
                request,
                ngettext(
                    "Notification defaults of %(team)s were given to its %(count)d member.",
                    "Notification defaults of %(team)s were given to its %(count)d members.",
                    applied,
                )
                % {"team": team, "count": applied},
            )
        return redirect("administration:team-notifications", pk=team.pk)
    return render(
        request,
        "administration/team_notifications.html",
        {"obj": team, "levels_form": form, "member_count": team.memberships.count()},
    )


# --- Roles ----------------------------------------------------------------------------------


@admin_required
def role_list(request: HttpRequest) -> HttpResponse:
    roles = Role.objects.annotate(
        user_count=Count("users", distinct=True), team_count=Count("teams", distinct=True)
    )
    columns = list(permissions().values())
    rows = [
        (role, [permission.display(role.permission(permission.name)) for permission in columns])
        for role in roles
    ]
    return render(
        request,
        "administration/role_list.html",
        {"rows": rows, "columns": columns},
    )


@admin_required
def role_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk) if pk else Role()
    form = RoleForm(request.POST or None, instance=role)
    if request.method == "POST" and form.is_valid():
        role = form.save()
        messages.success(request, _("Role %(role)s was saved.") % {"role": role})
        return redirect("administration:role-list")
    return render(
        request,
        "administration/role_form.html",
        {"form": form, "obj": role},
    )


@admin_required
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    return delete_confirmed(
        request,
        role,
        list_url="administration:role-list",
        done=_("Role %(role)s was deleted.") % {"role": role},
    )


# --- Scheduled jobs -------------------------------------------------------------------------


@admin_required
def job_list(request: HttpRequest) -> HttpResponse:
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by(
        "name"
    )
    rows = sorted(
        (
            (task, job_display_name(task.name, task.task), job_schedule_display(task))
            for task in tasks
        ),
        key=lambda row: row[1].casefold(),  # by name in the reader's language
    )
    return render(request, "administration/job_list.html", {"rows": rows})


@admin_required
def job_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(PeriodicTask, pk=pk)
    form = JobForm(request.POST or None, initial=JobForm.initial_for(task))
    if request.method == "POST" and form.is_valid():
        job_set_schedule(task, enabled=form.cleaned_data["enabled"], **form.schedule())
        name = job_display_name(task.name, task.task)
        messages.success(request, _("Scheduled job %(job)s was saved.") % {"job": name})
        return redirect("administration:job-list")
    return render(
        request,
        "administration/job_form.html",
        {
            "form": form,
            "task": task,
            "name": job_display_name(task.name, task.task),
            "schedule": job_schedule_display(task),
        },
    )


@require_POST
@admin_required
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(PeriodicTask, pk=pk)
    try:
        job_run_now(task)
    except OperationalError:
        logger.exception("run now: the broker refused %s", task.task)
        messages.error(
            request,
            _("The task queue is not reachable; %(job)s was not started.")
            % {"job": job_display_name(task.name, task.task)},
        )
        return redirect("administration:job-list")
    messages.success(
        request,
        _("%(job)s was sent to the workers; it runs shortly.")
        % {"job": job_display_name(task.name, task.task)},
    )
    return redirect("administration:job-list")
