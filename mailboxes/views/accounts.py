"""Personal email accounts (users, Emails ▸ menu) and group email accounts (administrators).

Who may do what:
- Group accounts: administrators only, every page (403 for others).
- Personal accounts: their owner (404 for anybody else) and administrators; creating one
  needs a role that allows personal accounts (403 otherwise).
- Administration ▸ Personal Email Accounts lists everybody's (administrators only).

The forms work without JavaScript ("Test connection" is a submit button that re-renders the
form with the server's folders); with htmx the test swaps in just the folder picker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from crm.access import is_admin
from crm.models import User
from mailboxes.access import may_have_personal_accounts
from mailboxes.connection.imap import account_test_connection
from mailboxes.exceptions import MailError
from mailboxes.forms import (
    GroupEmailAccountForm,
    ImapTestForm,
    MailAccountForm,
    PersonalEmailAccountForm,
    ResetCursorForm,
    account_form_dependent_field,
    account_summary_rows,
)
from mailboxes.intake.cursors import account_reset_cursor
from mailboxes.intake.health import account_request_fetch
from mailboxes.models import (
    FolderCursor,
    GroupEmailAccount,
    MailAccount,
    PersonalEmailAccount,
    RawMessage,
)
from mailboxes.views.common import is_htmx, mailbox_context

logger = logging.getLogger(__name__)
GROUP, PERSONAL = "group", "personal"
ADMIN_PAGE_SIZE = 50
ACCOUNT_ACTIONS = (
    "detail",
    "edit",
    "delete",
    "fetch",
    "test",
    "reset",
    "status",
    "connect",
    "disconnect",
    "import",
)

# Headline of a failed connection test, by MailError.code; the error's own sentence follows.
CONNECTION_TITLES = {
    "auth": gettext_lazy("Wrong user name or password"),
    "dns": gettext_lazy("Host not found"),
    "tls": gettext_lazy("Secure connection failed"),
    "timeout": gettext_lazy("The server did not answer in time"),
    "refused": gettext_lazy("Could not connect"),
    "unreachable": gettext_lazy("Could not connect"),
    "local_limit": gettext_lazy("Too many open files on this server"),
    "protocol": gettext_lazy("Unexpected answer from the server"),
    "host_not_allowed": gettext_lazy("Host not allowed"),
}


@dataclass
class ConnectionResult:
    ok: bool
    title: str
    message: str = ""
    code: str = ""
    folders: list[str] | None = None


def _quarantined_count() -> Subquery:
    return Coalesce(
        Subquery(
            RawMessage.objects.filter(
                account_id=OuterRef("pk"), status=RawMessage.Status.QUARANTINED
            )
            .order_by()
            .values("account_id")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _check_kind(request: HttpRequest, kind: str) -> None:
    if kind == GROUP and not is_admin(request.user):
        raise PermissionDenied


def _accounts(request: HttpRequest, kind: str) -> QuerySet:
    """Accounts of one kind the user may manage (group: admins; personal: own, or all for
    admins)."""
    _check_kind(request, kind)
    if kind == GROUP:
        return GroupEmailAccount.objects.all()
    accounts = PersonalEmailAccount.objects.select_related("owner")
    return accounts if is_admin(request.user) else accounts.filter(owner=request.user)


def _account(request: HttpRequest, kind: str, pk: int):
    return get_object_or_404(_accounts(request, kind), pk=pk)


def _url(kind: str, action: str, *args) -> str:
    return reverse(f"mailboxes:{kind}-account-{action}", args=args)


def _account_urls(kind: str, pk: int) -> dict[str, str]:
    return {action: _url(kind, action, pk) for action in ACCOUNT_ACTIONS}


def _page_context(request: HttpRequest, kind: str) -> dict:
    """Group pages live in Administration; personal ones in the Emails area."""
    if kind == GROUP:
        return {"nav_section": "administration", "kind": kind, "in_admin": True}
    context = mailbox_context(request)
    context.update(kind=kind, in_admin=False)
    return context


# --- Lists ----------------------------------------------------------------------------------


@login_required
def account_list(request: HttpRequest, kind: str) -> HttpResponse:
    """Group accounts (administrators) or the user's own personal accounts, with health."""
    if kind == PERSONAL:
        accounts = PersonalEmailAccount.objects.filter(owner=request.user)
    else:
        accounts = _accounts(request, kind).prefetch_related("teams")
    accounts = accounts.annotate(quarantined=_quarantined_count()).order_by("name")
    context = _page_context(request, kind)
    context.update(
        accounts=accounts,
        may_create=kind == GROUP or may_have_personal_accounts(request.user),
        create_url=_url(kind, "create"),
    )
    return render(request, "mailboxes/account_list.html", context)


@login_required
def admin_personal_account_list(request: HttpRequest) -> HttpResponse:
    """Administration ▸ Personal Email Accounts: everybody's, filterable by owner."""
    if not is_admin(request.user):
        raise PermissionDenied
    accounts = (
        PersonalEmailAccount.objects.select_related("owner")
        .annotate(quarantined=_quarantined_count())
        .order_by("owner__username", "name")
    )
    owner = request.GET.get("owner", "")
    if owner.isdigit():
        accounts = accounts.filter(owner_id=int(owner))
    page = Paginator(accounts, ADMIN_PAGE_SIZE).get_page(request.GET.get("page"))
    owners = User.objects.filter(personal_email_accounts__isnull=False).distinct()
    return render(
        request,
        "mailboxes/account_list.html",
        {
            "nav_section": "administration",
            "kind": PERSONAL,
            "in_admin": True,
            "all_owners": True,
            "accounts": page.object_list,
            "page_obj": page,
            "owners": owners,
            "owner_filter": owner,
            "may_create": True,
            "create_url": _url(PERSONAL, "create"),
        },
    )


# --- Detail ---------------------------------------------------------------------------------


def _status_context(request: HttpRequest, kind: str, pk: int) -> dict:
    account = get_object_or_404(
        _accounts(request, kind).annotate(quarantined=_quarantined_count()), pk=pk
    )
    return {
        "account": account,
        "kind": kind,
        "urls": _account_urls(kind, account.pk),
        "cursors": FolderCursor.objects.filter(account_id=account.pk).order_by("folder"),
    }


@login_required
def account_detail(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    context = _page_context(request, kind)
    context.update(_status_context(request, kind, pk))
    context.update(
        reset_form=ResetCursorForm(initial={"since": context["account"].fetch_since}),
        connection=None,
    )
    if kind == GROUP:
        context["summary_rows"] = account_summary_rows(context["account"])
    return render(request, "mailboxes/account_detail.html", context)


@login_required
def account_status(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The fetch health and cursors of the page, which polls them while a fetch is pending
    (the answer stops the polling once the fetch has ended)."""
    context = _status_context(request, kind, pk)
    context["oob"] = True
    return render(request, "mailboxes/_account_status.html", context)


# --- Create and edit ------------------------------------------------------------------------


def _form(request: HttpRequest, kind: str, instance, data=None, **kwargs) -> MailAccountForm:
    if kind == GROUP:
        return GroupEmailAccountForm(data, instance=instance, **kwargs)
    return PersonalEmailAccountForm(
        data, instance=instance, user=request.user, admin=is_admin(request.user), **kwargs
    )


def connection_test(imap_form: ImapTestForm) -> ConnectionResult:
    """Run "Test connection" for a validated :class:`ImapTestForm`."""
    try:
        folders = account_test_connection(imap_form.imap_settings())
    except MailError as exc:
        return ConnectionResult(
            ok=False,
            title=str(CONNECTION_TITLES.get(exc.code, _("Connection failed"))),
            message=str(exc),
            code=exc.code,
        )
    return ConnectionResult(
        ok=True,
        title=_("Connected."),
        message=_("Tick the folders to fetch.") if folders else "",
        folders=folders,
    )


def _test_form_data(request: HttpRequest, account) -> ConnectionResult:
    imap_form = ImapTestForm(request.POST, account=account if account and account.pk else None)
    if not imap_form.is_valid():
        message = " ".join(str(e) for e in imap_form.non_field_errors()) or _(
            "Check the IMAP settings."
        )
        return ConnectionResult(ok=False, title=_("Cannot test yet"), message=message)
    return connection_test(imap_form)


def _account_or_new(request: HttpRequest, kind: str, pk: int | None) -> MailAccount:
    """The account being edited or tested, or a new unsaved one the user may create."""
    if pk is not None:
        return _account(request, kind, pk)
    _check_kind(request, kind)
    if kind == PERSONAL and not may_have_personal_accounts(request.user):
        raise PermissionDenied
    return GroupEmailAccount() if kind == GROUP else PersonalEmailAccount()


def account_form_save(form: MailAccountForm) -> MailAccount:
    """Save a valid account form; an active IMAP account is then fetched at once (the web
    page and the API save through here)."""
    with transaction.atomic():
        account = form.save()
        if account.is_active and account.use_imap:
            account_request_fetch(account)
    return account


@sensitive_post_parameters("imap_password", "smtp_password")
@login_required
def account_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    """Create or edit an account; "Test connection" re-renders with the server's folders."""
    instance = _account_or_new(request, kind, pk)
    data = request.POST if request.method == "POST" else None
    form = _form(request, kind, instance, data)
    connection = None
    if request.method == "POST" and request.POST.get("_action") == "test":
        connection = _test_form_data(request, instance)
        if connection.ok:
            form.set_server_folders(connection.folders or [])
        form._errors = ErrorDict()  # a test is not a save: no "this field is required" noise
    elif request.method == "POST" and form.is_valid():
        account = account_form_save(form)
        messages.success(request, _("Account “%(name)s” was saved.") % {"name": account.name})
        return redirect(_url(kind, "detail", account.pk))
    context = _page_context(request, kind)
    context.update(
        form=form,
        account=instance if instance.pk else None,
        connection=connection,
        test_url=_url(kind, "test", instance.pk) if instance.pk else _url(kind, "test-new"),
        cancel_url=_url(kind, "detail", instance.pk) if instance.pk else _url(kind, "list"),
    )
    return render(request, "mailboxes/account_form.html", context)


@login_required
def group_account_roles(request: HttpRequest) -> HttpResponse:
    """A field of the group account form whose choices follow another one, for the value in
    the query (htmx, on change): cases' "Target user role" picker for ``?target_team=``."""
    _check_kind(request, GROUP)
    name = account_form_dependent_field(request.GET)
    if name is None:
        raise Http404
    form = GroupEmailAccountForm(initial=request.GET.dict())
    return render(request, "_field.html", {"field": form[name]})


@require_POST
@sensitive_post_parameters("imap_password", "smtp_password")
@login_required
def account_test(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    """Test the connection with the posted settings (stored password if left empty).

    htmx gets the folder picker with the result; a plain POST (the detail page's button)
    gets a message and goes back to the account.
    """
    instance = _account_or_new(request, kind, pk)
    if not is_htmx(request) and pk is not None and "imap_host" not in request.POST:
        # the detail page's button: test what is stored
        data = {
            "imap_host": instance.imap_host,
            "imap_port": instance.imap_port,
            "imap_security": instance.imap_security,
            "imap_username": instance.imap_username,
            "email_address": instance.email_address,
        }
        imap_form = ImapTestForm(data, account=instance)
        result = (
            connection_test(imap_form)
            if imap_form.is_valid()
            else ConnectionResult(
                False, _("Cannot test yet"), " ".join(imap_form.non_field_errors())
            )
        )
        if result.ok:
            messages.success(
                request,
                _("Connected. The server has %(count)d folders.") % {"count": len(result.folders)},
            )
        else:
            messages.error(request, f"{result.title}: {result.message}")
        return redirect(_url(kind, "detail", instance.pk))
    result = _test_form_data(request, instance)
    form = _form(request, kind, instance, request.POST)
    if result.ok:
        form.set_server_folders(result.folders or [])
    return render(
        request,
        "mailboxes/_folder_picker.html",
        {
            "form": form,
            "connection": result,
            "kind": kind,
            "test_url": request.path,
        },
    )


@login_required
def account_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    account = _account(request, kind, pk)
    if request.method == "POST":
        name = account.name
        account.delete()
        messages.success(request, _("Account “%(name)s” was deleted.") % {"name": name})
        if kind == PERSONAL and is_admin(request.user) and account.owner_id != request.user.pk:
            return redirect("mailboxes:admin-personal-account-list")
        return redirect(_url(kind, "list"))
    context = _page_context(request, kind)
    context.update(account=account, email_count=account.emails.count())
    return render(request, "mailboxes/account_confirm_delete.html", context)


# --- Fetch and cursor -----------------------------------------------------------------------


@require_POST
@login_required
def account_fetch(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """ "Fetch now": queue a fetch of the account for a worker, ahead of polling."""
    from mailboxes.intake.queueing import fetch_enqueue

    account = _account(request, kind, pk)
    try:
        fetch_enqueue([account.pk], urgent=True)
        MailAccount.objects.filter(pk=account.pk).update(fetch_requested_at=timezone.now())
    except OperationalError:
        logger.exception("fetch now: the broker refused account %s", account.pk)
        messages.error(
            request, _("The task queue cannot be reached; the next scheduled fetch will run.")
        )
    else:
        messages.success(
            request,
            _("Fetching “%(name)s” now; new mail appears in a moment.") % {"name": account.name},
        )
    return redirect(_url(kind, "detail", account.pk))


@require_POST
@login_required
def account_reset(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """ "Reset fetch cursor from date": the next fetch starts again at that date."""
    account = _account(request, kind, pk)
    form = ResetCursorForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date to fetch from."))
        return redirect(_url(kind, "detail", account.pk))
    try:
        account_reset_cursor(account, since=form.cleaned_data["since"])
    except MailError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "The next fetch starts again from %(date)s; messages already imported are "
                "not imported twice."
            )
            % {"date": formats.date_format(form.cleaned_data["since"], "DATE_FORMAT")},
        )
    return redirect(_url(kind, "detail", account.pk))
