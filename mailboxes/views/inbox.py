"""The email lists: one folder at a time, with search, filters, bulk actions and live updates.

The list works without JavaScript (checkboxes and buttons post a form). With htmx, a small
fragment endpoint polled every few seconds adds new rows at the top and refreshes the unread
counts; static/js/emails.js adds the keyboard (j/k/Enter/x/s/e/#).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mailboxes.inbox.list_filters import EmailFilterSet
from mailboxes.inbox.pagination import CappedPaginator, keyset_page, serial_query
from mailboxes.inbox.search_query import email_headlines, query_parse, top_results
from mailboxes.inbox.selectors import (
    ALL,
    DRAFTS,
    INBOX,
    SCHEDULED,
    SENT,
    Folder,
    UserMailbox,
    email_list_rows,
    emails_newer_than,
    folder_emails,
    folder_sort_field,
    newest_marks,
    visible_emails,
)
from mailboxes.inbox.user_state import (
    emails_archive,
    emails_mark_important,
    emails_mark_read,
    emails_move_to_folder,
    emails_move_to_group_folder,
    emails_restore,
    emails_trash,
)
from mailboxes.models import EmailFolder, GroupEmailFolder
from mailboxes.views.common import is_htmx, mailbox_context, safe_next

PAGE_SIZE = 50
TOP_RESULTS = 3
MAX_NEW_ROWS = 50  # per poll; more than that and the user reloads anyway


def poll_seconds() -> int:
    return max(1, int(settings.POSTACI_INBOX_POLL_SECONDS))


def searched_folder(request: HttpRequest, mailbox: UserMailbox, folder: Folder) -> Folder:
    """Where a search looks: the folder its ``in:`` names, all the user's email when
    "Search in" says so, else the folder open."""
    text = request.GET.get("q", "").strip()
    if not text:
        return folder
    named = query_parse(text).folder
    if named and (found := mailbox.find(named)) is not None:
        return found
    if request.GET.get("scope") == "all":
        return mailbox.resolve(ALL)
    return folder


def _filtered(request: HttpRequest, mailbox: UserMailbox, folder: Folder):
    searched = searched_folder(request, mailbox, folder)
    emails = folder_emails(mailbox, searched)
    filterset = EmailFilterSet(
        request.GET or None,
        queryset=emails,
        request=request,
        date_field=folder_sort_field(searched),
    )
    if filterset.is_bound:
        emails = filterset.qs if filterset.is_valid() else emails.none()
    return filterset, emails


def _rows(emails, folder: Folder):
    return email_list_rows(emails, with_recipients=folder.key in (SENT, DRAFTS, SCHEDULED))


def _move_targets(mailbox: UserMailbox) -> list[tuple[str, str]]:
    return [(f"f{f.pk}", f.name) for f in mailbox.personal] + [
        (f"g{f.pk}", f.name) for f in mailbox.group
    ]


@login_required
def folder_list(request: HttpRequest, folder: str = INBOX) -> HttpResponse:
    mailbox = UserMailbox.of(request.user)
    current = mailbox.resolve(folder)
    filterset, emails = _filtered(request, mailbox, current)
    searched = searched_folder(request, mailbox, current)
    with serial_query():  # the page, its search and the counts: one setting of the planner
        page = _page(request, _rows(emails, current), searched)
        top = _top_results(request, page)
        _highlight(request, page.object_list)
        context = mailbox_context(request, current.key, mailbox)
        live = page.number == 1
        if live:
            context["email_mark"], context["row_mark"] = newest_marks(request.user)
    context.update(
        folder=current,
        page_obj=page,
        filter=filterset,
        live=live,
        poll_seconds=poll_seconds(),
        move_targets=_move_targets(mailbox),
        show_recipients=current.key in (SENT, DRAFTS, SCHEDULED),
        list_query=_list_query(request),
        top_results=top,
    )
    return render(request, "mailboxes/email_list.html", context)


def _page(request: HttpRequest, rows, folder: Folder):
    """A page of the list: by keyset (``older`` / ``newer`` cursors, ``oldest``), so the
    hundredth page costs what the first does and pages stay put while mail arrives;
    Scheduled, in the order it will be sent and short, by page number."""
    if folder.key == SCHEDULED:
        return CappedPaginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return keyset_page(
        rows,
        PAGE_SIZE,
        older=request.GET.get("older"),
        newer=request.GET.get("newer"),
        oldest=request.GET.get("oldest") == "1",
        field=folder_sort_field(folder),
    )


def _top_results(request: HttpRequest, page) -> list:
    """On a search's first page, when it found more than fits, its most relevant few."""
    text = request.GET.get("q", "").strip()
    if not text or page.number != 1 or len(page.object_list) <= TOP_RESULTS:
        return []
    rows = {row.pk: row for row in page.object_list}  # the most relevant of this page
    ids = top_results(query_parse(text), list(rows), limit=TOP_RESULTS)
    return [rows[pk] for pk in ids if pk in rows]


def _highlight(request: HttpRequest, rows) -> None:
    """Give each row of a search its snippet with the words found marked."""
    text = request.GET.get("q", "").strip()
    if not text:
        return
    rows = list(rows)
    headlines = email_headlines([row.pk for row in rows], query_parse(text))
    for row in rows:
        row.search_snippet = headlines.get(row.pk)


def _list_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    for name in ("page", "older", "newer", "oldest"):
        query.pop(name, None)
    for name in ("after_email", "after_row"):
        query.pop(name, None)
    return query.urlencode()


@login_required
def folder_updates(request: HttpRequest, folder: str = INBOX) -> HttpResponse:
    """The live-update fragment: rows that arrived after the marks the page was drawn with,
    the folder pane with fresh counts, and the poller with new marks."""
    if not is_htmx(request):
        return HttpResponseRedirect(reverse("mailboxes:folder", args=[folder]))
    mailbox = UserMailbox.of(request.user)
    current = mailbox.resolve(folder)
    try:
        email_mark = int(request.GET["after_email"])
        row_mark = int(request.GET["after_row"])
    except (KeyError, ValueError):
        email_mark = row_mark = None  # no cursor: only refresh the counts
    _filterset, emails = _filtered(request, mailbox, current)
    new_rows = []
    new_marks = newest_marks(request.user)
    if email_mark is not None and row_mark is not None:
        new_rows = list(
            _rows(emails_newer_than(emails, email_mark=email_mark, row_mark=row_mark), current)[
                :MAX_NEW_ROWS
            ]
        )
    context = mailbox_context(request, current.key, mailbox)
    context.update(
        folder=current,
        new_rows=new_rows,
        email_mark=new_marks[0],
        row_mark=new_marks[1],
        poll_seconds=poll_seconds(),
        show_recipients=current.key in (SENT, DRAFTS, SCHEDULED),
        list_query=_list_query(request),
        live=True,
    )
    return render(request, "mailboxes/_list_updates.html", context)


# --- Actions --------------------------------------------------------------------------------


def apply_action(request: HttpRequest, emails, action: str, target: str = "") -> str:
    """Apply one list or email action to emails the user can see; return what to tell them
    (an empty string for an unknown action)."""
    user = request.user
    count = emails.count()
    if action == "read":
        emails_mark_read(user, emails, read=True)
        return ngettext(
            "%(count)d email marked as read.", "%(count)d emails marked as read.", count
        ) % {"count": count}
    if action == "unread":
        emails_mark_read(user, emails, read=False)
        return ngettext(
            "%(count)d email marked as unread.", "%(count)d emails marked as unread.", count
        ) % {"count": count}
    if action in ("important", "unimportant"):
        emails_mark_important(user, emails, important=action == "important")
        if action == "important":
            return ngettext(
                "%(count)d email marked as important.",
                "%(count)d emails marked as important.",
                count,
            ) % {"count": count}
        return ngettext(
            "%(count)d email no longer important.", "%(count)d emails no longer important.", count
        ) % {"count": count}
    if action == "archive":
        emails_archive(user, emails)
        return ngettext("%(count)d email archived.", "%(count)d emails archived.", count) % {
            "count": count
        }
    if action == "trash":
        emails_trash(user, emails)
        return ngettext(
            "%(count)d email moved to Trash.", "%(count)d emails moved to Trash.", count
        ) % {"count": count}
    if action == "restore":
        emails_restore(user, emails)
        return ngettext(
            "%(count)d email restored from Trash.", "%(count)d emails restored from Trash.", count
        ) % {"count": count}
    if action == "move":
        return _move(request, emails, target, count)
    return ""


def _move(request: HttpRequest, emails, target: str, count: int) -> str:
    user = request.user
    if target == INBOX:
        emails_move_to_folder(user, emails, None)
        name = _("Inbox")
    elif target.startswith("f") and target[1:].isdigit():
        folder = EmailFolder.objects.filter(user=user, pk=int(target[1:])).first()
        if folder is None:
            return ""
        emails_move_to_folder(user, emails, folder)
        name = folder.name
    elif target.startswith("g") and target[1:].isdigit():
        folder = GroupEmailFolder.objects.filter(pk=int(target[1:])).first()
        mailbox = UserMailbox.of(user)
        if folder is None or folder.pk not in mailbox.group_folder_ids:
            return ""
        emails_move_to_group_folder(user, emails, folder)
        name = folder.name
    else:
        return ""
    return ngettext(
        "%(count)d email moved to %(folder)s.", "%(count)d emails moved to %(folder)s.", count
    ) % {"count": count, "folder": name}


def _selected_ids(request: HttpRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("ids") if v.isdigit()][:500]


@require_POST
@login_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    """Apply an action to the checked emails (or to the one whose star was clicked)."""
    fallback = reverse("mailboxes:inbox")
    star, _sep, star_action = request.POST.get("star", "").partition("|")
    if star.isdigit():
        ids = [int(star)]
        action = "unimportant" if star_action == "unimportant" else "important"
    else:
        ids, action = _selected_ids(request), request.POST.get("action", "")
    emails = visible_emails(request.user, ids)
    if not ids:
        text = _("Select one or more emails first.")
        if is_htmx(request):
            return HttpResponse(status=400)
        messages.info(request, text)
        return HttpResponseRedirect(safe_next(request, fallback))
    text = apply_action(request, emails, action, request.POST.get("target", ""))
    if is_htmx(request):
        return HttpResponse(status=204 if text else 400)
    if text and not star:
        messages.success(request, text)
    elif not text:
        messages.error(request, _("That action is not available."))
    return HttpResponseRedirect(safe_next(request, fallback))
