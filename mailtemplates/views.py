"""Email template screens (list, form, delete, preview) and the compose picker's two JSON
endpoints (search, render for a draft).

Access (``mailtemplates.access``): every query goes through ``usable_by`` / ``listed_for``;
a template the user cannot see answers 404, one they may only use answers 403 to a change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mailboxes.sending.drafts import parent_resolve
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.forms import parent_type_choices
from mailboxes.sending.permissions import sending_identities, sending_identity_for
from mailtemplates.access import (
    can_manage_template,
    template_for_use,
    template_to_manage,
    template_to_preview,
    visibilities_for,
)
from mailtemplates.attachments import COMPOSE_FIELD
from mailtemplates.forms import EmailTemplateForm
from mailtemplates.list_filters import EmailTemplateFilterSet
from mailtemplates.models import EmailTemplate
from mailtemplates.placeholders import PLACEHOLDERS, placeholder_values, template_render

PAGE_SIZE = 50
PICKER_LIMIT = 20


def _categories(queryset) -> list[str]:
    """The categories in use, for the list's filter and the form's suggestions."""
    return list(
        queryset.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    """The templates the user may use or manage, searchable, with who may use each."""
    listed = EmailTemplate.objects.listed_for(request.user)
    manageable = set(EmailTemplate.objects.manageable_by(request.user).values_list("pk", flat=True))
    filterset = EmailTemplateFilterSet(
        request.GET or None,
        queryset=listed.select_related("owner").prefetch_related("teams"),
        request=request,
        categories=_categories(listed),
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "mailtemplates/template_list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "object_list": page.object_list,
            "manageable": manageable,
            "nav_section": "emails",
        },
    )


@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    if not visibilities_for(request.user):
        raise Http404
    return _template_form(request, EmailTemplate(owner=request.user))


@login_required
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_form(request, template_to_manage(request.user, pk))


def _template_form(request: HttpRequest, template: EmailTemplate) -> HttpResponse:
    is_new = template.pk is None
    stored_name = template.name
    form = EmailTemplateForm(
        request.POST or None, request.FILES or None, instance=template, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        template = form.save()
        message = (
            _("Template “%(name)s” was created.") if is_new else _("Template “%(name)s” was saved.")
        )
        messages.success(request, message % {"name": template.name})
        return redirect("mailtemplates:list")
    listed = EmailTemplate.objects.listed_for(request.user)
    return render(
        request,
        "mailtemplates/template_form.html",
        {
            "form": form,
            "template_obj": template,
            "is_new": is_new,
            "stored_name": stored_name,
            "placeholders": PLACEHOLDERS.items(),
            "categories": _categories(listed),
            "nav_section": "emails",
        },
    )


@login_required
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = template_to_manage(request.user, pk)
    if request.method == "POST":
        template.delete()
        messages.success(request, _("Template “%(name)s” was deleted.") % {"name": template.name})
        return redirect("mailtemplates:list")
    return render(
        request,
        "mailtemplates/template_confirm_delete.html",
        {"template_obj": template, "nav_section": "emails"},
    )


def _draft_values(user, params) -> dict[str, str]:
    """Placeholder values for the draft ``params`` describe: ``parent_type``, ``parent_id``
    (a record the user must be able to see, else 404) and ``from_account`` (an address they
    may send as, else the mailbox values stay empty)."""
    try:
        parent = parent_resolve(user, params.get("parent_type", ""), params.get("parent_id"))
    except SendError:
        raise Http404 from None
    mailbox = None
    if params.get("from_account"):
        try:
            mailbox = sending_identity_for(user, params["from_account"])
        except SendError:
            mailbox = None
    return placeholder_values(user=user, parent=parent, mailbox=mailbox)


@login_required
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The template as it would be inserted, for a record and From chosen on the page."""
    template = template_to_preview(request.user, pk)
    identities = sending_identities(request.user)
    params = {key: request.GET.get(key, "") for key in ("parent_type", "parent_id")}
    params["from_account"] = request.GET.get("from_account") or (
        str(identities[0].account_id) if identities else ""
    )
    missing_record = False
    try:
        values = _draft_values(request.user, params)
    except Http404:
        missing_record = True
        values = _draft_values(request.user, params | {"parent_type": "", "parent_id": ""})
    rendered = template_render(template, values)
    return render(
        request,
        "mailtemplates/template_preview.html",
        {
            "template_obj": template,
            "rendered": rendered,
            "empty_labels": [(name, PLACEHOLDERS[name]) for name in rendered.empty],
            "may_manage": can_manage_template(request.user, template),
            "parent_types": parent_type_choices(),
            "identities": identities,
            "params": params,
            "missing_record": missing_record,
            "files": list(template.attachments.all()),
            "nav_section": "emails",
        },
    )


@login_required
@require_GET
def picker_search(request: HttpRequest) -> JsonResponse:
    """Templates the user may insert whose name, category or subject has every typed word."""
    templates = EmailTemplateFilterSet(
        {"q": request.GET.get("q", "")[:100]},
        queryset=EmailTemplate.objects.usable_by(request.user),
    ).qs[:PICKER_LIMIT]
    return JsonResponse(
        {
            "templates": [
                {"id": t.pk, "name": t.name, "category": t.category, "subject": t.subject}
                for t in templates
            ]
        }
    )


@login_required
@require_GET
def picker_render(request: HttpRequest, pk: int) -> JsonResponse:
    """The template filled in for the draft (see ``_draft_values``), to insert."""
    template = template_for_use(request.user, pk)
    rendered = template_render(template, _draft_values(request.user, request.GET))
    return JsonResponse(
        {
            "subject": rendered.subject,
            "html": rendered.html,
            "empty": [str(PLACEHOLDERS[name]) for name in rendered.empty],
            "unknown": rendered.unknown,
            "attachments": [
                {"id": a.pk, "filename": a.filename, "size": filesizeformat(a.size)}
                for a in template.attachments.all()
            ],
            "attachment_field": COMPOSE_FIELD,
        }
    )
