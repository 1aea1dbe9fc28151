"""Compose, reply, forward, drafts, retry, address suggestions and "Send test email".

Thin views over the sending services (mailboxes/sending/: drafts, send, replies). Every email
is read through ``Email.objects.visible_to(user)`` (404 otherwise); the From is limited to
the user's allowed addresses in the form and checked again by the service.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm.access import is_admin
from crm.links import url_of
from crm.models import Account, Contact, EmailAddressLink, Lead, User
from crm.users import users_matching
from mailboxes.models import Email, MailAccount
from mailboxes.sending.account_check import account_send_test
from mailboxes.sending.compose import format_address
from mailboxes.sending.drafts import draft_version, email_save_draft
from mailboxes.sending.exceptions import DraftConflict, NotSendable, SendError
from mailboxes.sending.forms import ComposeForm, draft_initial
from mailboxes.sending.permissions import sending_identities
from mailboxes.sending.replies import reply_initial
from mailboxes.sending.scheduling import (
    email_schedule,
    email_unschedule,
    scheduled_time,
    undo_send_seconds,
)
from mailboxes.sending.send import email_retry, email_retry_sent_copy, email_send
from mailboxes.sending.send_options import SCHEDULE, SendOptionsForm

SUGGESTION_LIMIT = 10


def email_url(email: Email) -> str:
    """The email's page (the Emails pages may not be installed yet: then the inbox)."""
    return url_of(email) or reverse("mailboxes:inbox")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def reply_form_context(request: HttpRequest, *, initial: dict, next_url: str) -> dict:
    """What ``mailboxes/_reply_form.html`` needs, e.g. on a case page::

    context.update(reply_form_context(
        request, initial=case_reply_initial(case, request.user),
        next_url=case.get_absolute_url()))
    """
    identities = sending_identities(request.user)
    return {
        # own ids: the page may hold other forms (the stream's note form has a "body" too)
        "reply_form": ComposeForm(
            user=request.user, identities=identities, initial=initial, auto_id="reply_%s"
        ),
        "reply_next": next_url,
        "reply_identities": identities,
        "reply_to_display": initial.get("reply_to", ""),
    }


def _compose_page(request, form, *, draft=None, mode="", source=None, status=200, options=None):
    scheduled_for = scheduled_time(draft) if draft is not None else None
    if options is None:
        initial = {"draft_version": draft_version(draft)}
        if scheduled_for is not None:
            initial["send_at"] = timezone.localtime(scheduled_for)
        options = SendOptionsForm(initial=initial)
    return render(
        request,
        "mailboxes/compose.html",
        {
            "form": form,
            "draft": draft,
            "mode": mode,
            "source": source,
            "has_identities": bool(form.identities),
            "action_url": reverse("mailboxes:compose-draft", args=[draft.pk])
            if draft
            else reverse("mailboxes:compose"),
            "next_url": _next_url(request),
            "nav_section": "emails",
            "send_options": options,
            "scheduled_for": scheduled_for,
        },
        status=status,
    )


def _own_draft(request, pk) -> Email:
    return get_object_or_404(
        Email.objects.visible_to(request.user).prefetch_related("recipients__address"),
        pk=pk,
        status=Email.Status.DRAFT,
        created_by=request.user,
    )


@login_required
def compose(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """New email (GET with optional ``to``, ``subject``, ``parent_type``, ``parent_id``), or
    a draft (``pk``). POST ``action=send`` sends, ``action=draft`` saves the draft."""
    draft = _own_draft(request, pk) if pk is not None else None
    identities = sending_identities(request.user)
    if request.method != "POST":
        if draft is not None:
            initial = draft_initial(draft)
        else:
            initial = {
                key: request.GET[key]
                for key in ("to", "cc", "subject", "parent_type", "parent_id")
                if request.GET.get(key)
            }
            if identities:
                initial["from_account"] = identities[0].account_id
        form = ComposeForm(user=request.user, identities=identities, draft=draft, initial=initial)
        return _compose_page(request, form, draft=draft)

    form = ComposeForm(
        request.POST, request.FILES, user=request.user, identities=identities, draft=draft
    )
    options = SendOptionsForm(request.POST)
    action = request.POST.get("action")
    if (
        form.is_valid()
        and options.is_valid()
        and (action == "draft" or form.confirm_invalid_recipients())
    ):
        data = form.compose_data()
        data.draft_version = options.cleaned_data["draft_version"]
        data.draft_writer = options.cleaned_data["draft_writer"]
        undo_seconds = undo_send_seconds()
        try:
            if action == "draft":
                email = email_save_draft(user=request.user, data=data, draft=draft)
            elif action == SCHEDULE:
                email = email_schedule(
                    user=request.user,
                    data=data,
                    draft=draft,
                    send_at=options.cleaned_data["send_at"],
                )
            elif undo_seconds:
                email = email_schedule(
                    user=request.user,
                    data=data,
                    draft=draft,
                    send_at=timezone.now() + timedelta(seconds=undo_seconds),
                    undo_window=True,
                )
            else:
                email = email_send(user=request.user, data=data, draft=draft)
        except DraftConflict as exc:
            # the page shows the reason; its next Save or Send replaces the other version
            form.add_error(None, str(exc))
            form.add_error(None, _("Save or send again to keep this version instead."))
            posted = request.POST.copy()
            posted["draft_version"] = str(exc.current)
            options = SendOptionsForm(posted)
            options.is_valid()
        except SendError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if action == "draft":
                messages.success(request, _("Draft saved."))
                return redirect(
                    _next_url(request) or reverse("mailboxes:compose-draft", args=[email.pk])
                )
            if action == SCHEDULE:
                when = formats.date_format(
                    timezone.localtime(options.cleaned_data["send_at"]), "DATETIME_FORMAT"
                )
                messages.success(request, _("Your email will be sent on %(when)s") % {"when": when})
            elif undo_seconds and email.status == Email.Status.SCHEDULED:
                messages.success(request, _undo_notice(request, email, undo_seconds))
            else:
                messages.success(request, _("Sending your email…"))
            return redirect(_next_url(request) or email_url(email))
    for errors in options.errors.values():
        for error in errors:
            form.add_error(None, error)
    return _compose_page(request, form, draft=draft, status=200, options=options)


def _undo_notice(request: HttpRequest, email: Email, seconds: int) -> str:
    """The message after Send: "sent in n seconds" and an Undo button, kept over the redirect."""
    until = int((timezone.now().timestamp() + seconds) * 1000)
    text = ngettext(
        "Your email will be sent in %(count)d second.",
        "Your email will be sent in %(count)d seconds.",
        seconds,
    ) % {"count": seconds}
    return format_html(
        '<span data-undo-text>{}</span> <form class="undo-send" style="display:inline" '
        'method="post" action="{}" data-undo-until="{}" data-after="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="then" value="undo"><button class="btn btn-sm btn-primary" '
        'type="submit" data-testid="undo-send">{}</button></form>'
        '<script src="{}" defer></script>',
        text,
        reverse("mailboxes:email-unschedule", args=[email.pk]),
        until,
        _("Sending your email…"),
        get_token(request),
        _("Undo"),
        static("js/undo_send.js"),
    )


@login_required
@require_POST
def unschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a scheduled email back: ``then=undo`` (after Send) or ``edit`` opens the draft
    (``edit`` keeps its time), ``cancel`` leaves it in the drafts."""
    email = get_object_or_404(Email.objects.visible_to(request.user), pk=pk)
    then = request.POST.get("then", "cancel")
    try:
        email = email_unschedule(user=request.user, email=email, keep_schedule=then == "edit")
    except NotSendable as exc:
        messages.error(request, str(exc))
        return redirect(_next_url(request) or email_url(email))
    if then == "cancel":
        messages.success(request, _("The email will not be sent; it is in your drafts."))
        return redirect(_next_url(request) or email_url(email))
    if then == "undo":
        messages.success(request, _("Sending undone: the email is back in your drafts."))
    return redirect(reverse("mailboxes:compose-draft", args=[email.pk]))


@login_required
@require_POST
def draft_autosave(request: HttpRequest, pk: int | None = None) -> JsonResponse:
    """Save the compose form as a draft (JSON; files are not part of autosave).

    ``draft_version`` is the version the page last saw: another tab's save in between gives
    409 with the current version, and the page asks the person what to keep.
    """
    draft = None
    if pk is not None:
        draft = get_object_or_404(
            Email.objects.visible_to(request.user), pk=pk, created_by=request.user
        )
        if draft.status != Email.Status.DRAFT:
            return JsonResponse(
                {"saved": False, "gone": True, "message": _("This email is no longer a draft.")},
                status=409,
            )
    identities = sending_identities(request.user)
    form = ComposeForm(request.POST, user=request.user, identities=identities, draft=draft)
    options = SendOptionsForm(request.POST)
    if not (form.is_valid() and options.is_valid()):
        errors = {**form.errors, **options.errors}
        return JsonResponse({"saved": False, "errors": errors}, status=400)
    data = form.compose_data()
    data.uploads = []
    data.draft_version = options.cleaned_data["draft_version"]
    data.draft_writer = options.cleaned_data["draft_writer"]
    try:
        email = email_save_draft(user=request.user, data=data, draft=draft)
    except DraftConflict as exc:
        return JsonResponse(
            {"saved": False, "conflict": True, "message": str(exc), "version": exc.current},
            status=409,
        )
    except SendError as exc:
        return JsonResponse({"saved": False, "message": str(exc)}, status=400)
    return JsonResponse(
        {
            "saved": True,
            "id": email.pk,
            "version": draft_version(email),
            "url": reverse("mailboxes:compose-draft", args=[email.pk]),
            "autosave_url": reverse("mailboxes:compose-draft-autosave", args=[email.pk]),
            "message": _("Draft saved at %(time)s.")
            % {"time": formats.time_format(timezone.localtime(), "TIME_FORMAT")},
        }
    )


def _reply(request: HttpRequest, pk: int, mode: str) -> HttpResponse:
    source = get_object_or_404(Email.objects.visible_to(request.user), pk=pk)
    identities = sending_identities(request.user)
    initial = reply_initial(source, request.user, mode=mode)
    form = ComposeForm(user=request.user, identities=identities, initial=initial)
    return _compose_page(request, form, mode=mode, source=source)


@login_required
@require_GET
def compose_reply(request: HttpRequest, pk: int) -> HttpResponse:
    return _reply(request, pk, "reply")


@login_required
@require_GET
def compose_reply_all(request: HttpRequest, pk: int) -> HttpResponse:
    return _reply(request, pk, "reply_all")


@login_required
@require_GET
def compose_forward(request: HttpRequest, pk: int) -> HttpResponse:
    return _reply(request, pk, "forward")


def _retry(request: HttpRequest, pk: int, service, started: str) -> HttpResponse:
    """Run a retry service on an email the user can see; say how it went and go back."""
    email = get_object_or_404(Email.objects.visible_to(request.user), pk=pk)
    try:
        service(email=email, user=request.user)
    except SendError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, started)
    return redirect(_next_url(request) or email_url(email))


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a failed email again."""
    return _retry(request, pk, email_retry, _("Sending your email again…"))


@login_required
@require_POST
def retry_sent_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Put the copy of a sent email in the Sent folder again (the email is not re-sent)."""
    return _retry(
        request, pk, email_retry_sent_copy, _("Saving the copy in the Sent folder again…")
    )


# --- address suggestions ----------------------------------------------------------------------


def address_suggestions(user, term: str, *, limit: int = SUGGESTION_LIMIT) -> list[tuple[str, str]]:
    """``(name, address)`` of contacts, accounts, leads and users matching ``term`` by name
    or address — only records ``user`` can see."""
    term = term.strip()
    if len(term) < 2:
        return []
    found: dict[str, str] = {}
    for model, name_fields in (
        (Contact, ("first_name", "last_name")),
        (Lead, ("first_name", "last_name")),
        (Account, ("name",)),
    ):
        content_type = ContentType.objects.get_for_model(model)
        records = model.objects.visible_to(user)
        by_name = Q()
        for name_field in name_fields:
            by_name |= Q(**{f"{name_field}__icontains": term})
        matching_ids = records.filter(by_name).values("pk")
        address_ids = EmailAddressLink.objects.filter(
            content_type=content_type, address__address__icontains=term
        ).values("object_id")
        links = (
            EmailAddressLink.objects.filter(content_type=content_type)
            .filter(Q(object_id__in=matching_ids) | Q(object_id__in=address_ids))
            .filter(object_id__in=records.values("pk"))
            .select_related("address")
            .order_by("-primary", "address__address")[: limit * 2]
        )
        names = {
            r.pk: str(r) for r in model.objects.filter(pk__in=[link.object_id for link in links])
        }
        for link in links:
            if link.address.is_invalid:
                continue
            found.setdefault(link.address.address, names.get(link.object_id, ""))
    users = users_matching(User.objects.filter(is_active=True).exclude(email=""), term)[:limit]
    for person in users:
        found.setdefault(person.email.lower(), person.get_full_name() or person.username)
    ranked = sorted(found.items(), key=lambda item: (not item[0].startswith(term.lower()), item))
    return [(name, address) for address, name in ranked[:limit]]


@login_required
@require_GET
def address_suggest(request: HttpRequest) -> HttpResponse:
    """Suggestions for the address being typed (the part after the last comma).

    htmx gets ``<option>`` elements for the field's ``<datalist>``, each holding the whole
    field value with the suggestion completed; ``?format=json`` gets a JSON list.
    """
    field = next((f for f in ("to", "cc", "bcc", "q") if f in request.GET), "q")
    value = request.GET.get(field, "")
    head, _sep, term = value.rpartition(",")
    suggestions = address_suggestions(request.user, term)
    prefix = f"{head.strip()}, " if head.strip() else ""
    items = [
        {"name": name, "address": address, "value": prefix + format_address(name, address) + ", "}
        for name, address in suggestions
    ]
    if request.GET.get("format") == "json" or "application/json" in request.headers.get(
        "Accept", ""
    ):
        return JsonResponse({"results": items})
    return render(request, "mailboxes/_address_options.html", {"items": items})


# --- "Send test email" ------------------------------------------------------------------------


@login_required
@require_POST
def account_send_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test email through an account's SMTP: group accounts by administrators,
    personal accounts by their owner (or an administrator)."""
    account = get_object_or_404(MailAccount, pk=pk).specific
    owner_id = getattr(account, "owner_id", None)
    if not (is_admin(request.user) or (owner_id is not None and owner_id == request.user.pk)):
        raise Http404
    to = (request.POST.get("to") or request.user.email or account.email_address).strip()
    ok, text = True, ""
    try:
        if not account.use_smtp:
            raise SendError(_("Sending (SMTP) is switched off for this account."))
        account_send_test(account, to=to, user=request.user)
        text = _("A test email was sent to %(to)s.") % {"to": to}
    except SendError as exc:
        ok, text = False, _("The test email could not be sent: %(error)s") % {"error": exc}
    if _is_htmx(request):
        return render(request, "mailboxes/_send_test_result.html", {"ok": ok, "text": text})
    (messages.success if ok else messages.error)(request, text)
    return redirect(_next_url(request) or url_of(account) or reverse("mailboxes:inbox"))
