"""The quarantine: messages that could not be imported, kept byte for byte, with Retry.

Administrators see every account's; other users those of their own personal accounts. A
message of another user's account answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.access import is_admin
from mailboxes.inbox.list_filters import accounts_visible_to
from mailboxes.intake.fetch import raw_message_retry
from mailboxes.models import MailAccount, RawMessage
from mailboxes.views.common import mailbox_context, safe_next

PAGE_SIZE = 50
RETRY_ALL_LIMIT = 500  # per click; a larger backlog takes a few clicks (each is one request)
HEAD_PREVIEW_BYTES = 16 * 1024


def visible_raw_messages(user) -> QuerySet[RawMessage]:
    """Journal rows the user may see: all for administrators, else their personal accounts'."""
    if is_admin(user):
        return RawMessage.objects.all()
    return RawMessage.objects.filter(
        account__kind=MailAccount.Kind.PERSONAL, account__personalemailaccount__owner=user
    )


def _quarantine_accounts(user) -> QuerySet[MailAccount]:
    if is_admin(user):
        return MailAccount.objects.all()
    return accounts_visible_to(user).filter(kind=MailAccount.Kind.PERSONAL)


def _filtered(request: HttpRequest) -> tuple[QuerySet[RawMessage], str]:
    raws = visible_raw_messages(request.user).filter(status=RawMessage.Status.QUARANTINED)
    account = request.GET.get("account") or request.POST.get("account") or ""
    if account.isdigit():
        raws = raws.filter(account_id=int(account))
    return raws, account


def _context(request: HttpRequest) -> dict:
    if is_admin(request.user):
        return {"nav_section": "administration", "in_admin": True}
    context = mailbox_context(request)
    context["in_admin"] = False
    return context


@login_required
def quarantine_list(request: HttpRequest) -> HttpResponse:
    raws, account = _filtered(request)
    raws = raws.select_related("account").defer("raw", "traceback").order_by("-received_at", "-pk")
    page = Paginator(raws, PAGE_SIZE).get_page(request.GET.get("page"))
    context = _context(request)
    context.update(
        page_obj=page,
        accounts=_quarantine_accounts(request.user).order_by("name"),
        account_filter=account,
    )
    return render(request, "mailboxes/quarantine_list.html", context)


@login_required
def quarantine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raw = get_object_or_404(visible_raw_messages(request.user).select_related("account"), pk=pk)
    head = bytes(raw.raw[:HEAD_PREVIEW_BYTES]).decode("utf-8", "replace")
    header_part = head.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    context = _context(request)
    context.update(
        raw_message=raw,
        header_preview=header_part,
        show_traceback=is_admin(request.user),
    )
    return render(request, "mailboxes/quarantine_detail.html", context)


@login_required
def raw_message_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The journaled bytes of a message, as a .eml file."""
    raw = get_object_or_404(visible_raw_messages(request.user), pk=pk)
    response = HttpResponse(bytes(raw.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{raw.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _outcome_text(outcome: str) -> str:
    return {
        "imported": _("The message was imported."),
        "duplicates": _("The message was already imported; it is linked to that email."),
        "skipped": _("A filter skips this message; it was not imported."),
        "quarantined": _("The message failed again; the error is updated."),
    }.get(outcome, _("The message is no longer in the quarantine."))


@require_POST
@login_required
def quarantine_retry(request: HttpRequest, pk: int) -> HttpResponse:
    raw = get_object_or_404(visible_raw_messages(request.user), pk=pk)
    outcome = raw_message_retry(raw)
    text = _outcome_text(outcome)
    (messages.error if outcome == "quarantined" else messages.success)(request, text)
    return redirect(safe_next(request, reverse("mailboxes:quarantine")))


@require_POST
@login_required
def quarantine_retry_all(request: HttpRequest) -> HttpResponse:
    """Retry every quarantined message shown (of one account when filtered)."""
    raws, account = _filtered(request)
    outcomes = [raw_message_retry(raw) for raw in raws.order_by("pk")[:RETRY_ALL_LIMIT]]
    failed = outcomes.count("quarantined")
    done = len(outcomes) - failed
    if not outcomes:
        messages.info(request, _("Nothing to retry."))
    else:
        text = ngettext(
            "%(count)d message retried", "%(count)d messages retried", len(outcomes)
        ) % {"count": len(outcomes)}
        text += ": " + ngettext(
            "%(done)d imported or resolved, %(failed)d still failing.",
            "%(done)d imported or resolved, %(failed)d still failing.",
            done,
        ) % {"done": done, "failed": failed}
        (messages.warning if failed else messages.success)(request, text)
    target = reverse("mailboxes:quarantine") + (f"?account={account}" if account else "")
    return redirect(target)
