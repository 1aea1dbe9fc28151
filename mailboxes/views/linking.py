"""The email's parent, changed by hand: a small form for the email page.

The email page shows it with::

    context.update(parent_form_context(request, email))
    {% include "mailboxes/_parent_form.html" %}

Without JavaScript the form posts to :func:`email_parent` and comes back to the email page
(or shows the matching records to choose from on a page of its own); with htmx it swaps just
its panel.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.links import url_of
from mailboxes.linking.manual import email_set_parent, parent_search
from mailboxes.linking.parents import email_parent_models, parent_kind
from mailboxes.models import Email


def _kind_choices() -> list[tuple[str, str]]:
    return [
        (kind, capfirst(model._meta.verbose_name)) for kind, model in email_parent_models().items()
    ]


class ParentForm(forms.Form):
    """What to put the email on: a type and a name, address or case number to look for."""

    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=_kind_choices)
    query = forms.CharField(
        label=gettext_lazy("Name, address or case number"), required=False, max_length=200
    )
    record = forms.IntegerField(required=False, widget=forms.HiddenInput)


def parent_form_context(
    request: HttpRequest,
    email: Email,
    *,
    form: ParentForm | None = None,
    candidates: list[Model] | None = None,
) -> dict:
    """What ``mailboxes/_parent_form.html`` needs for ``email``."""
    parent = email.parent
    initial = {"kind": parent_kind(type(parent)) if parent is not None else "account"}
    return {
        "parent_email": email,
        "parent_record": parent,
        "parent_form": form or ParentForm(initial=initial),
        "parent_candidates": candidates,
        "parent_url": reverse("mailboxes:email-parent", args=[email.pk]),
        "parent_back_url": url_of(email),
    }


@login_required
def email_parent(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the form (GET), or look up records and put the email on the chosen one (POST)."""
    email = get_object_or_404(Email.objects.visible_to(request.user), pk=pk)
    htmx = request.headers.get("HX-Request") == "true"
    candidates = None
    form = ParentForm(request.POST or None)
    if request.method == "POST" and "clear" in request.POST:
        email_set_parent(email=email, parent=None, user=request.user)
        return _done(request, email, htmx, _("The email is no longer linked to a record."))
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        model = email_parent_models()[kind]
        chosen = form.cleaned_data.get("record")
        if chosen:
            parent = model._default_manager.visible_to(request.user).filter(pk=chosen).first()
            candidates = [parent] if parent is not None else []
        else:
            candidates = parent_search(request.user, kind, form.cleaned_data["query"])
        if len(candidates) == 1:
            email_set_parent(email=email, parent=candidates[0], user=request.user)
            message = _("The email is now linked to %(record)s.") % {"record": candidates[0]}
            return _done(request, email, htmx, message)
        if not candidates:
            form.add_error("query", _("No record you can see matches."))
    context = parent_form_context(request, email, form=form, candidates=candidates)
    template = "mailboxes/_parent_form.html" if htmx else "mailboxes/email_parent.html"
    return render(request, template, context)


def _done(request: HttpRequest, email: Email, htmx: bool, message: str) -> HttpResponse:
    email.refresh_from_db()
    if htmx:
        context = parent_form_context(request, email)
        context["parent_message"] = message
        return render(request, "mailboxes/_parent_form.html", context)
    messages.success(request, message)
    target = url_of(email) or reverse("mailboxes:email-parent", args=[email.pk])
    return HttpResponseRedirect(target)
