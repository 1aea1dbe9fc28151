"""The dashboard: the user's open records and latest notifications."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, Lead, Opportunity
from crm.notifications import notifications_for_user
from crm.views.records import SCREENS

OPEN_LEAD_STATUSES = [Lead.Status.NEW, Lead.Status.ASSIGNED, Lead.Status.IN_PROCESS]
CLOSED_STAGES = [Opportunity.Stage.CLOSED_WON, Opportunity.Stage.CLOSED_LOST]


def my_open_records(user) -> list[dict]:
    """How many open records of each type are assigned to ``user`` (one query per type)."""
    querysets = [
        ("account", _("My accounts"), Account.objects.visible_to(user)),
        ("contact", _("My contacts"), Contact.objects.visible_to(user)),
        (
            "lead",
            _("My open leads"),
            Lead.objects.visible_to(user).filter(status__in=OPEN_LEAD_STATUSES),
        ),
        (
            "opportunity",
            _("My open opportunities"),
            Opportunity.objects.visible_to(user).exclude(stage__in=CLOSED_STAGES),
        ),
    ]
    return [
        {
            "name": name,
            "label": label,
            "count": queryset.filter(assigned_user=user).count(),
            "url_name": SCREENS[name].url_name("list"),
        }
        for name, label, queryset in querysets
    ]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    latest = list(notifications_for_user(request.user).filter(read_at__isnull=True)[:5])
    recent_opportunities = (
        Opportunity.objects.visible_to(request.user)
        .filter(assigned_user=request.user)
        .exclude(stage__in=CLOSED_STAGES)
        .select_related("account")
        .order_by("close_date", "-created_at")[:8]
    )
    return render(
        request,
        "home.html",
        {
            "open_records": my_open_records(request.user),
            "latest_notifications": latest,
            "open_opportunities": recent_opportunities,
        },
    )
