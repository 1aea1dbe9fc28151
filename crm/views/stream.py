"""Follow, unfollow and post to the stream of any record, plus the context of the panels.

These views serve every record type with a ``visible_to`` queryset (CRM records, cases),
addressed by ``<app_label>.<model_name>`` and primary key. A detail page shows the panels
with::

    context.update(stream_context(request, record))
    {% include "crm/_follow.html" %} ... {% include "crm/_stream.html" %}

With htmx the forms swap just their panel; without JavaScript they post and redirect back.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from crm.forms import NoteForm
from crm.models import Note
from crm.stream import (
    followers_of,
    note_create,
    record_follow,
    record_unfollow,
    stream_page,
    stream_page_of_note,
)

STREAM_PAGE_PARAM = "stream_page"
NOTE_PARAM = "note"  # open the stream at the page holding this note


def record_label(record: Model) -> str:
    """``app_label.model_name`` of a record, as used in the stream URLs."""
    return record._meta.label_lower


def stream_urls(record: Model) -> dict[str, str]:
    args = [record_label(record), record.pk]
    return {
        "follow": reverse("crm:record-follow", args=args),
        "unfollow": reverse("crm:record-unfollow", args=args),
        "post": reverse("crm:record-note", args=args),
        "panel": reverse("crm:record-stream", args=args),
    }


def stream_context(request: HttpRequest, record: Model, *, note_form: NoteForm | None = None):
    """What ``crm/_follow.html`` and ``crm/_stream.html`` need for ``record``."""
    followers = list(followers_of(record))
    return {
        "stream_record": record,
        "stream_urls": stream_urls(record),
        "followers": followers,
        "is_following": any(f.pk == request.user.pk for f in followers),
        "stream": stream_page(record, request.user, _stream_page_number(request, record)),
        "stream_page_param": STREAM_PAGE_PARAM,
        "note_form": note_form or NoteForm(),
    }


def _stream_page_number(request: HttpRequest, record: Model) -> str | int | None:
    number = request.GET.get(STREAM_PAGE_PARAM)
    note_id = request.GET.get(NOTE_PARAM, "")
    if number is None and note_id.isdigit():
        return stream_page_of_note(record, request.user, int(note_id))
    return number


def _record_or_404(request: HttpRequest, label: str, pk: int) -> Model:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None
    queryset = model._default_manager.all()
    if not hasattr(queryset, "visible_to"):
        raise Http404
    return get_object_or_404(queryset.visible_to(request.user), pk=pk)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back(request: HttpRequest, record: Model) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = record.get_absolute_url()
    return HttpResponseRedirect(target)


@login_required
def stream_panel(request: HttpRequest, label: str, pk: int) -> HttpResponse:
    """The stream panel alone (htmx paging; also a plain page of the stream)."""
    record = _record_or_404(request, label, pk)
    return render(request, "crm/_stream.html", stream_context(request, record))


@require_POST
@login_required
def follow(request: HttpRequest, label: str, pk: int) -> HttpResponse:
    record = _record_or_404(request, label, pk)
    record_follow(record, request.user)
    if _is_htmx(request):
        return render(request, "crm/_follow.html", stream_context(request, record))
    return _back(request, record)


@require_POST
@login_required
def unfollow(request: HttpRequest, label: str, pk: int) -> HttpResponse:
    record = _record_or_404(request, label, pk)
    record_unfollow(record, request.user)
    if _is_htmx(request):
        return render(request, "crm/_follow.html", stream_context(request, record))
    return _back(request, record)


@require_POST
@login_required
def note_post(request: HttpRequest, label: str, pk: int) -> HttpResponse:
    record = _record_or_404(request, label, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        note_create(
            parent=record, type=Note.Type.POST, author=request.user, body=form.cleaned_data["body"]
        )
        form = None
    if _is_htmx(request):
        return render(request, "crm/_stream.html", stream_context(request, record, note_form=form))
    if form is not None:
        for error in form.errors.get("body", []):
            messages.error(request, error)
    return _back(request, record)
