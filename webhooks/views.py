"""Administration pages: the webhooks, each with its delivery log and "send again"."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.administration.views import admin_required, delete_confirmed
from webhooks.forms import EVENT_CHOICES, WebhookEndpointForm
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.sending import CONNECTION, HOST_NOT_ALLOWED, HTTP_STATUS, TIMEOUT, delivery_attempt

LOG_PAGE_SIZE = 50
ERROR_LABELS = {
    TIMEOUT: gettext_lazy("No answer in time"),
    CONNECTION: gettext_lazy("Could not connect"),
    HOST_NOT_ALLOWED: gettext_lazy("Address in a private network"),
    HTTP_STATUS: gettext_lazy("Refused by the receiver"),
}

EVENT_LABELS = dict(EVENT_CHOICES)


def event_label(event: str) -> str:
    """An event's name in the reader's language (the code itself for one no longer offered)."""
    return EVENT_LABELS.get(event, event)


@admin_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(WebhookEndpoint.objects.select_related("group_account", "team"))
    for endpoint in endpoints:
        endpoint.event_labels = [event_label(e) for e in endpoint.events]
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"endpoints": endpoints, "nav_section": "administration"},
    )


@admin_required
def endpoint_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk) if pk else WebhookEndpoint()
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        if not endpoint.pk:
            form.instance.owner = request.user
        endpoint = form.save()
        messages.success(request, _("The webhook “%(name)s” was saved.") % {"name": endpoint})
        return redirect("webhooks:endpoint-log", endpoint.pk)
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint if endpoint.pk else None},
    )


@admin_required
def endpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The endpoint's secret (to verify signatures) and its deliveries, newest first."""
    endpoint = get_object_or_404(
        WebhookEndpoint.objects.select_related("group_account", "team"), pk=pk
    )
    endpoint.event_labels = [event_label(e) for e in endpoint.events]
    page = Paginator(endpoint.deliveries.order_by("-created_at"), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for delivery in page.object_list:
        delivery.event_label = event_label(delivery.event)
        delivery.error_label = ERROR_LABELS.get(delivery.last_error, delivery.last_error)
    return render(request, "webhooks/endpoint_log.html", {"endpoint": endpoint, "page_obj": page})


@require_POST
@admin_required
def delivery_send_again(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    """Send a delivery again now, with its own id (a receiver that has it can drop it)."""
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint_id=pk)
    result = delivery_attempt(str(delivery.pk), again=True)
    if result is None:
        messages.error(request, _("The webhook is turned off; turn it on to send again."))
    elif result.status == WebhookDelivery.Status.DELIVERED:
        messages.success(request, _("Delivered."))
    else:
        messages.error(request, _("Not delivered; it will be tried again."))
    return redirect("webhooks:endpoint-log", pk)


@admin_required
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first, as for teams and roles: the endpoint goes with its whole delivery log."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    return delete_confirmed(
        request,
        endpoint,
        list_url="webhooks:endpoint-list",
        done=_("The webhook “%(name)s” was deleted.") % {"name": endpoint},
    )
