"""Whether mail can reach an address, and why not: decided here, once, for every sender.

An address turns invalid from a bounce (mailboxes.bounces: at once for a hard bounce, after a
few soft ones) or by hand; an agent who may edit a record carrying it marks it valid again.
The reason is stored as data (source, RFC 3463 status, the server's words) and read in the
reader's language: "mailbox does not exist (5.1.1)".

``deliverable_for_automatic_mail`` is the one check every automatic sender calls (auto-replies,
notification emails, digests): mail nobody wrote by hand never goes to an invalid address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.models import EmailAddress

Source = EmailAddress.InvalidSource

# RFC 3463 (and RFC 7372, 3886) status codes by subject.detail, the class left out: what the
# reader sees of a bounce. A code not listed falls back to its subject.
_DETAILS: dict[str, Promise] = {
    "1.0": _("address problem"),
    "1.1": _("mailbox does not exist"),
    "1.2": _("domain does not exist"),
    "1.3": _("malformed address"),
    "1.4": _("ambiguous address"),
    "1.6": _("mailbox has moved"),
    "1.10": _("mailbox does not exist"),
    "2.0": _("mailbox problem"),
    "2.1": _("mailbox disabled"),
    "2.2": _("mailbox full"),
    "2.3": _("message too large for the mailbox"),
    "2.4": _("mailing list expansion problem"),
    "3.0": _("receiving mail system problem"),
    "3.1": _("receiving mail system full"),
    "3.2": _("receiving system not accepting mail"),
    "3.4": _("message too large"),
    "4.0": _("network or routing problem"),
    "4.1": _("no answer from the receiving host"),
    "4.2": _("connection dropped"),
    "4.4": _("unable to route (domain not found)"),
    "4.6": _("routing loop"),
    "4.7": _("delivery time expired"),
    "5.0": _("mail protocol problem"),
    "6.0": _("message content problem"),
    "7.0": _("refused by policy"),
    "7.1": _("delivery not authorized (refused by policy)"),
    "7.26": _("refused: the message failed authentication (SPF/DKIM/DMARC)"),
}
_SUBJECTS: dict[str, Promise] = {
    "0": _("delivery failed"),
    "1": _("address problem"),
    "2": _("mailbox problem"),
    "3": _("receiving mail system problem"),
    "4": _("network or routing problem"),
    "5": _("mail protocol problem"),
    "6": _("message content problem"),
    "7": _("refused by policy"),
}
_STATUS = re.compile(r"^[245]\.(\d{1,3})\.(\d{1,3})$")


def status_reason(status: str) -> str:
    """What an RFC 3463 status code means, translated ("mailbox does not exist (5.1.1)");
    "delivery failed" when there is no usable code."""
    match = _STATUS.match(status or "")
    if match is None:
        return gettext("delivery failed")
    subject, detail = match.groups()
    text = _DETAILS.get(f"{subject}.{detail}") or _SUBJECTS.get(subject) or _SUBJECTS["0"]
    return gettext("%(reason)s (%(status)s)") % {"reason": text, "status": status}


def invalid_reason(address: EmailAddress) -> str:
    """Why the address is invalid, in the reader's language ("" when it is valid)."""
    if not address.is_invalid:
        return ""
    if address.invalid_source == Source.MANUAL:
        return gettext("marked invalid by hand")
    if address.invalid_source == Source.SOFT_BOUNCES:
        return gettext("repeated soft bounces, last: %(reason)s") % {
            "reason": status_reason(address.invalid_status)
        }
    if address.invalid_source == Source.HARD_BOUNCE:
        return gettext("bounced: %(reason)s") % {"reason": status_reason(address.invalid_status)}
    return gettext("invalid")


def deliverable_for_automatic_mail(addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` that automatic mail (auto-replies, notification emails,
    digests) may be sent to: every one not known to be invalid (one query)."""
    wanted = {address.strip().lower() for address in addresses if address and "@" in address}
    if not wanted:
        return set()
    invalid = set(
        EmailAddress.objects.filter(address__in=wanted, is_invalid=True).values_list(
            "address", flat=True
        )
    )
    return wanted - invalid


def address_mark_valid(address: EmailAddress) -> None:
    """Mail may go to the address again (an agent's decision: the bounce was temporary,
    the mailbox was recreated)."""
    now = timezone.now()
    values = {
        "is_invalid": False,
        "invalid_source": "",
        "invalid_status": "",
        "invalid_diagnostic": "",
        "invalid_at": None,
        "marked_valid_at": now,  # soft bounces before this no longer count
    }
    EmailAddress.objects.filter(pk=address.pk).update(**values)
    for name, value in values.items():
        setattr(address, name, value)
