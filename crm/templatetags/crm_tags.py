"""Template helpers of the record screens: table cells, sortable headers, values, notes."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import template
from django.db.models import Model
from django.template.defaultfilters import date as date_filter
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from crm.kinds import note_kind_of, notification_line
from crm.links import url_of
from crm.messages import Message

register = template.Library()

EMPTY = "—"


@register.filter
def display(value) -> SafeString:
    """A field value for a detail page or a table: links records, formats dates and money."""
    if value is None or value == "" or value == []:
        return format_html('<span class="muted">{}</span>', EMPTY)
    if isinstance(value, Model):
        url = url_of(value)
        return format_html('<a href="{}">{}</a>', url, value) if url else format_html("{}", value)
    if isinstance(value, bool):
        return format_html("{}", _("Yes") if value else _("No"))
    if isinstance(value, datetime.datetime):
        return format_html(
            '<time datetime="{}">{}</time>',
            value.isoformat(),
            date_filter(value, "DATETIME_FORMAT"),
        )
    if isinstance(value, datetime.date):
        return format_html(
            '<time datetime="{}">{}</time>', value.isoformat(), date_filter(value, "DATE_FORMAT")
        )
    if isinstance(value, Decimal):
        return format_html(
            '<span class="num">{}</span>', number_format(value, 2, force_grouping=True)
        )
    if isinstance(value, list | tuple):
        return format_html_join(", ", "{}", ((item,) for item in value))
    return format_html("{}", value)


@register.simple_tag
def cell(record, column) -> SafeString:
    """The content of one list cell (``column`` is a crm.views.records.Column)."""
    value = getattr(record, column.attr, None)
    display_method = getattr(record, f"get_{column.attr}_display", None)
    if column.badge and value:
        label = display_method() if display_method is not None else value
        return format_html('<span class="badge badge-{}">{}</span>', value, label)
    if display_method is not None and value:
        value = display_method()
    if isinstance(value, datetime.datetime):
        value = value.date() if column.attr == "created_at" else value
    if column.link:
        return format_html('<a class="row-link" href="{}">{}</a>', record.get_absolute_url(), value)
    if column.attr == "primary_email" and value:
        return format_html('<span class="email">{}</span>', value)
    return display(value)


@register.simple_tag(takes_context=True)
def sort_header(context, column, current: str) -> SafeString:
    """A column header; sortable columns link to themselves, toggling the direction."""
    if not column.sort:
        return format_html("{}", column.label)
    request = context["request"]
    query = request.GET.copy()
    query.pop("page", None)
    ascending = current == column.key
    descending = current == f"-{column.key}"
    query["sort"] = f"-{column.key}" if ascending else column.key
    if ascending:
        state, arrow = "ascending", "▲"
    elif descending:
        state, arrow = "descending", "▼"
    else:
        state, arrow = "none", ""
    return format_html(
        '<a class="sort sort-{}" href="?{}">{}<span aria-hidden="true">{}</span></a>',
        state,
        query.urlencode(),
        column.label,
        arrow,
    )


@register.filter
def record_label(record: Model) -> str:
    return record._meta.label_lower


@register.filter
def verbose_name(obj) -> str:
    return obj._meta.verbose_name


@register.filter
def verbose_name_plural(obj) -> str:
    return obj._meta.verbose_name_plural


@register.simple_tag
def note_sentence(note) -> SafeString:
    """What a stream note says ("<strong>Ali</strong> changed status to Closed"), by its
    kind (crm.kinds), in the reader's language."""
    kind = note_kind_of(note)
    line = kind.stream_line(note)
    if kind.template:
        line += render_to_string(kind.template, {"note": note})
    return mark_safe(line)  # noqa: S308 - built by format_sentence, which escapes


@register.filter
def note_detail(note) -> Message:
    """The message a note's kind shows under its line (an assignment's reason), or empty."""
    return note_kind_of(note).detail_of(note)


@register.simple_tag
def notification_sentence(notification, html: bool = True) -> str:
    """What a notification says, in the reader's language (``html=False``: plain text)."""
    return notification_line(notification, html=html)


@register.filter
def initials(user) -> str:
    """One or two letters for an avatar."""
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    letters = (first[:1] + last[:1]) or (getattr(user, "username", "") or "?")[:2]
    return letters.upper()


@register.simple_tag
def page_range(page) -> list:
    """Page numbers around the current page, with ellipses (``paginator.ELLIPSIS``)."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


# ``{{ obj|url_of }}``: its page, or "" when it has none or that page is not installed.
register.filter("url_of", url_of)


@register.simple_tag
def address_shown(address, text: str = "") -> SafeString:
    """An email address as every page shows it: an invalid one struck through with why
    ("bounced: mailbox does not exist (5.1.1)"), the server's words on hover. ``text``: what
    to show instead of the bare address (a name)."""
    from crm.deliverability import invalid_reason

    shown = text or getattr(address, "address", address)
    if not getattr(address, "is_invalid", False):
        return format_html("{}", shown)
    return format_html(
        '<span class="address-invalid" title="{}"><s>{}</s> '
        '<span class="address-reason">— {}</span></span>',
        address.invalid_diagnostic or invalid_reason(address),
        shown,
        invalid_reason(address),
    )
