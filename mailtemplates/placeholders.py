"""The placeholder language of email templates, and its renderer.

A template names values as ``{{case.number}}``. The names are a fixed allow-list
(``PLACEHOLDERS``); their values are computed beforehand, as strings, by
``placeholder_values`` from the email's parent record, the sending user and mailbox. The
renderer only looks names up in that dict of strings: a template cannot reach attributes,
call methods or read another record, whatever it writes. Every ``{{...}}`` is replaced in a
single pass (a value is never rendered again), an unknown name or a missing value by nothing;
anything else (``{% ... %}``, ``${...}``) is plain text. Values are HTML-escaped into the body.

Hand-written rather than a sandboxed engine (Jinja's SandboxedEnvironment): a dict lookup
with one regular expression has no attribute access, filters or loops to lock down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from mailboxes.linking.parents import parent_kind
from mailboxes.sending.compose import sanitize_html

# name → what it stands for, in the order the editor's picker lists them
PLACEHOLDERS: dict[str, object] = {
    "case.number": _("Case number"),
    "case.subject": _("Case subject"),
    "case.status": _("Case status"),
    "case.assignee": _("Case assignee"),
    "contact.salutation": _("Contact's salutation (Mr., Ms., …)"),
    "contact.first_name": _("Contact's first name"),
    "contact.last_name": _("Contact's last name"),
    "contact.name": _("Contact's full name"),
    "account.name": _("Account name"),
    "user.name": _("Your name"),
    "user.first_name": _("Your first name"),
    "user.email": _("Your email address"),
    "user.title": _("Your job title"),
    "user.phone": _("Your phone number"),
    "mailbox.name": _("Sending mailbox name"),
    "mailbox.address": _("Sending mailbox address"),
    "today": _("Today's date"),
}

# any {{...}} without braces inside; what is between the braces is only ever a dict key
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")


@dataclass
class Rendered:
    subject: str
    html: str
    empty: list[str] = field(default_factory=list)  # allow-listed names without a value
    unknown: list[str] = field(default_factory=list)  # names not in the allow-list


def _text(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def placeholder_values(
    *, user=None, parent: Model | None = None, mailbox=None, today: date | None = None
) -> dict[str, str]:
    """Every allow-listed placeholder's value as a string ("" when unknown).

    ``parent``: the record the email is about, already checked visible to ``user``; a case
    gives its contact (else lead) and account, a contact or opportunity its account.
    ``mailbox``: the sending identity (``mailboxes.sending.permissions.SendingIdentity``).
    ``today`` is written in the active language's date format.
    """
    values = dict.fromkeys(PLACEHOLDERS, "")
    kind = parent_kind(type(parent)) if parent is not None else None
    person = account = None
    if kind == "case":
        values["case.number"] = _text(parent.number)
        values["case.subject"] = _text(parent.name)
        values["case.status"] = _text(parent.get_status_display())
        values["case.assignee"] = _text(parent.assigned_user or "")
        person = parent.contact or parent.lead
        account = parent.account
    elif kind in ("contact", "lead"):
        person = parent
    elif kind == "account":
        account = parent
    elif parent is not None:
        account = getattr(parent, "account", None)
    if person is not None:
        salutation = getattr(person, "get_salutation_display", None)
        values["contact.salutation"] = _text(salutation() if salutation else "")
        values["contact.first_name"] = _text(person.first_name)
        values["contact.last_name"] = _text(person.last_name)
        values["contact.name"] = _text(str(person))
        if account is None:
            account = getattr(person, "account", None)
            if account is None and getattr(person, "account_name", ""):
                values["account.name"] = _text(person.account_name)
    if account is not None:
        values["account.name"] = _text(account.name)
    if user is not None and user.is_authenticated:
        values["user.name"] = _text(user.get_full_name() or user.username)
        values["user.first_name"] = _text(user.first_name)
        values["user.email"] = _text(user.email)
        values["user.title"] = _text(getattr(user, "title", ""))
        values["user.phone"] = _text(getattr(user, "phone", ""))
    if mailbox is not None:
        values["mailbox.name"] = _text(mailbox.name)
        values["mailbox.address"] = _text(mailbox.address)
    values["today"] = date_format(today or timezone.localdate(), "DATE_FORMAT")
    return values


def _render(text: str, values: Mapping[str, str], used: list[str], quote) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1).strip()
        if name not in used:
            used.append(name)
        value = values.get(name, "") if name in PLACEHOLDERS else ""
        return quote(value)

    return _PLACEHOLDER.sub(replace, text or "")


def template_render(template, values: Mapping[str, str]) -> Rendered:
    """``template``'s subject (plain text, one line) and body (sanitized HTML) with the
    placeholders filled in, and which placeholders it used that came out empty."""
    used: list[str] = []
    subject = _text(_render(template.subject, values, used, str))
    html = sanitize_html(_render(template.body_html, values, used, escape))
    return Rendered(
        subject=subject,
        html=html,
        empty=[name for name in used if name in PLACEHOLDERS and not values.get(name)],
        unknown=[name for name in used if name not in PLACEHOLDERS],
    )
