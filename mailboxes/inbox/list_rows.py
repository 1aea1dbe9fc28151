"""The rows of an email list (folders, search results, live updates), drawn in Python.

A page has fifty rows; drawn by a template include each, they were most of the page's time
(a hundred includes and thousands of variable lookups). Here what is the same on every row
is worked out once a page (translations, the detail URL's prefix, date formats, the
paperclip icon) and each row is one string with its values escaped. The template tag
``email_rows`` (``mailboxes_tags``) draws them in ``email_list.html`` and ``_list_updates.html``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mailboxes.models import Email

_ID = 2_147_483_646  # a placeholder id: the detail URL is reversed once a page


@dataclass(frozen=True, slots=True)
class DateFormats:
    """The reader's day and date formats (their language and time zone), read once."""

    today: datetime.date
    time_format: str
    short_date_format: str
    datetime_format: str

    @classmethod
    def current(cls) -> DateFormats:
        return cls(
            today=timezone.localdate(),
            time_format=get_format("TIME_FORMAT"),
            short_date_format=get_format("SHORT_DATE_FORMAT"),
            datetime_format=get_format("DATETIME_FORMAT"),
        )


@dataclass(frozen=True, slots=True)
class _Page:
    """What every row of one page shares, in the reader's language and time zone."""

    detail_prefix: str
    detail_suffix: str
    folder: str
    show_recipients: bool
    new: bool
    dates: DateFormats
    no_subject: str
    select_label: str
    important_on: str
    important_off: str
    important: str
    unread: str
    linked_to: str
    has_attachments: str
    paperclip: str
    draft: str
    not_sent: str
    scheduled: str
    sending: str
    unknown_sender: str
    no_recipients: str
    to_people: str


def _page(folder_key: str, *, show_recipients: bool, new: bool) -> _Page:
    prefix, _sep, suffix = reverse("mailboxes:email-detail", args=[_ID]).partition(str(_ID))
    return _Page(
        detail_prefix=prefix,
        detail_suffix=suffix,
        folder=escape(folder_key),
        show_recipients=show_recipients,
        new=new,
        dates=DateFormats.current(),
        no_subject=_("(no subject)"),
        select_label=_("Select “%(subject)s”"),
        important_on=escape(_("Important (click to remove)")),
        important_off=escape(_("Mark as important")),
        important=escape(_("Important")),
        unread=escape(_("Unread:")),
        linked_to=escape(_("Linked to")),
        has_attachments=escape(_("Has attachments")),
        paperclip=render_to_string("mailboxes/_mail_icon.html", {"name": "paperclip"}),
        draft=escape(_("Draft")),
        not_sent=escape(_("Not sent")),
        scheduled=escape(_("Scheduled")),
        sending=escape(_("Sending")),
        unknown_sender=_("(unknown sender)"),
        no_recipients=_("(no recipients)"),
        to_people=_("To: %(people)s"),
    )


def email_url(page: _Page, pk: int) -> str:
    return f"{page.detail_prefix}{pk}{page.detail_suffix}"


def email_date_html(value: datetime.datetime | None, dates: DateFormats | None = None) -> str:
    """Time for today's mail, day and month for this year's, the full date otherwise; the
    exact moment in the tooltip. Escaped HTML."""
    if not value:
        return ""
    dates = dates or DateFormats.current()
    local = timezone.localtime(value)
    if local.date() == dates.today:
        shown = dateformat.format(local, dates.time_format)
    elif local.year == dates.today.year:
        shown = dateformat.format(local, "j M")
    else:
        shown = dateformat.format(local, dates.short_date_format)
    title = dateformat.format(local, dates.datetime_format)
    return (
        f'<time datetime="{escape(local.isoformat())}" title="{escape(title)}">'
        f"{escape(shown)}</time>"
    )


def _status_cell(page: _Page, email: Email) -> str:
    status = email.status
    if status == "draft":
        return f'<span class="badge badge-muted">{page.draft}</span>'
    if status == "failed":
        return f'<span class="badge badge-danger">{page.not_sent}</span>'
    if status == "scheduled":
        if email.scheduled_for:
            local = timezone.localtime(email.scheduled_for)
            exact = escape(dateformat.format(local, page.dates.datetime_format))
            moment = (
                f'<time datetime="{escape(dateformat.format(local, "c"))}" '
                f'title="{page.scheduled}: {exact}">'
                f"{escape(dateformat.format(local, 'j M H:i'))}</time>"
            )
        else:
            moment = f'<span class="badge badge-accent">{page.scheduled}</span>'
        return f'<span data-testid="scheduled-badge">{moment}</span>'
    if status == "sending":
        return f'<span class="badge badge-warning">{page.sending}</span>'
    return email_date_html(email.date_sent, page.dates)


def sender_text(email: Email, unknown_sender: str) -> str:
    """The sender as a person reads it: their name, else their address."""
    return email.from_name or email.from_email or unknown_sender


def _people(page: _Page, email: Email) -> str:
    """The sender, or on Sent and Drafts rows the To and Cc names (or addresses)."""
    if not page.show_recipients:
        return sender_text(email, page.unknown_sender)
    people = [r.name or r.address.address for r in email.recipients.all()]
    if not people:
        return page.no_recipients
    return page.to_people % {"people": ", ".join(people)}


def _row(page: _Page, e: Email) -> str:
    pk = e.pk
    href = f"{email_url(page, pk)}?folder={page.folder}"
    read = e.user_is_read
    important = e.user_is_important
    subject = escape(e.subject or page.no_subject)
    snippet = getattr(e, "search_snippet", None)
    if snippet:
        snippet = f'<span class="snippet" data-testid="search-snippet"> — {escape(snippet)}</span>'
    elif e.snippet:
        snippet = f'<span class="snippet"> — {escape(e.snippet)}</span>'
    else:
        snippet = ""
    badges = ""
    if e.parent:
        parent = escape(e.parent)  # cut short in the row; whole in the tooltip
        badges = (
            f'<span class="badge badge-accent" title="{page.linked_to}: {parent}">{parent}</span>'
        )
    if e.auto_kind:
        badges += f'<span class="badge badge-muted">{escape(e.get_auto_kind_display())}</span>'
    unread = "" if read else f'<span class="visually-hidden">{page.unread} </span>'
    attachment = ""
    if e.has_attachments:
        attachment = (
            f'<span title="{page.has_attachments}">{page.paperclip}'
            f'<span class="visually-hidden">{page.has_attachments}</span></span>'
        )
    return (
        f'<tr class="mail-row{"" if read else " unread"}{" is-new" if page.new else ""}" '
        f'id="email-{pk}" data-id="{pk}" data-href="{href}" data-testid="email-row">\n'
        f'  <td class="col-select"><input type="checkbox" name="ids" value="{pk}" '
        f'aria-label="{page.select_label % {"subject": subject}}"></td>\n'
        f'  <td class="col-star"><button class="star{" on" if important else ""}" type="submit" '
        f'name="star" value="{pk}|{"unimportant" if important else "important"}" '
        f'aria-pressed="{"true" if important else "false"}" '
        f'title="{page.important_on if important else page.important_off}">'
        f'<span aria-hidden="true">★</span><span class="visually-hidden">{page.important}'
        f"</span></button></td>\n"
        f'  <td class="col-from">{escape(_people(page, e))}</td>\n'
        f'  <td class="col-subject"><a class="subject-link" href="{href}">'
        f'{unread}<span class="subject">{subject}</span>{badges}{snippet}</a></td>\n'
        f'  <td class="col-att">{attachment}</td>\n'
        f'  <td class="col-date">{_status_cell(page, e)}</td>\n'
        f"</tr>\n"
    )


def email_rows_html(
    emails: Iterable[Email], *, folder_key: str, show_recipients: bool, new: bool = False
) -> SafeString:
    """The ``<tr>`` of each email of a list, in order: the emails come from
    ``selectors.email_list_rows`` (the user's read and important marks annotated, sender,
    parent and recipients loaded), a search's with ``search_snippet`` set."""
    page = _page(folder_key, show_recipients=show_recipients, new=new)
    return mark_safe("".join(_row(page, e) for e in emails))  # noqa: S308 (escaped above)
