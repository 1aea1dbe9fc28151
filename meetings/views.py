"""Meeting pages: one meeting (404 unless the user may see it), adding an email's
invitation, answering it, and setting a meeting's status."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.links import url_of
from mailboxes.models import Email
from mailboxes.sending.exceptions import SendError
from meetings.models import Meeting
from meetings.panel import event_zone_time
from meetings.recurrence import rrule_text
from meetings.services import invitation_of, meeting_create, meeting_respond


def _moment(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(
        Meeting.objects.visible_to(request.user).prefetch_related("attendees"), pk=pk
    )
    # the invitation's email, when the user may read it: one query, not a load and a check
    source = (
        Email.objects.visible_to(request.user).filter(pk=meeting.source_email_id).first()
        if meeting.source_email_id is not None
        else None
    )
    parent = meeting.parent
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "recurrence": rrule_text(meeting.rrule),
            "zone_start": event_zone_time(meeting.start, meeting.time_zone),
            "source": source,
            "parent": parent,
            "parent_url": url_of(parent) if parent is not None else "",
            "statuses": Meeting.Status.choices,
            "exdates": [d for d in map(_moment, meeting.exdates) if d is not None],
            "moved": [
                {"was": _moment(o.get("recurrence_id")), "start": _moment(o.get("start"))}
                for o in meeting.overrides
                if _moment(o.get("recurrence_id")) and _moment(o.get("start"))
            ],
        },
    )


def _invitation_email(request: HttpRequest, pk: int):
    email = get_object_or_404(
        Email.objects.visible_to(request.user).prefetch_related("attachments"), pk=pk
    )
    invitation = invitation_of(email)
    if invitation is None:
        messages.error(request, _("This email holds no invitation that can be read."))
    return email, invitation


@require_POST
@login_required
def invitation_add(request: HttpRequest, pk: int) -> HttpResponse:
    email, invitation = _invitation_email(request, pk)
    if invitation is None:
        return HttpResponseRedirect(reverse("mailboxes:email-detail", args=[email.pk]))
    meeting = meeting_create(user=request.user, email=email, invitation=invitation)
    messages.success(request, _("The meeting was added."))
    return HttpResponseRedirect(meeting.get_absolute_url())


@require_POST
@login_required
def invitation_respond(request: HttpRequest, pk: int) -> HttpResponse:
    email, invitation = _invitation_email(request, pk)
    back = reverse("mailboxes:email-detail", args=[email.pk])
    if invitation is None:
        return HttpResponseRedirect(back)
    answer = request.POST.get("answer", "")
    try:
        meeting_respond(user=request.user, email=email, invitation=invitation, partstat=answer)
    except SendError as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    done = {
        "ACCEPTED": _("You accepted; the answer is on its way to the organizer."),
        "TENTATIVE": _("You answered Tentative; the answer is on its way to the organizer."),
        "DECLINED": _("You declined; the answer is on its way to the organizer."),
    }
    messages.success(request, done[answer])
    return HttpResponseRedirect(back)


@require_POST
@login_required
def meeting_status(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user), pk=pk)
    status = request.POST.get("status", "")
    if status in Meeting.Status.values:
        meeting.status = status
        meeting.save(update_fields=["status", "modified_at"])
        messages.success(request, _("The meeting's status was changed."))
    return HttpResponseRedirect(meeting.get_absolute_url())
