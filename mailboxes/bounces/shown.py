"""What the email page shows of bounces: on our sent email, "Bounced: <address>: <reason>";
on a bounce, the failures it reports."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from crm.messages import Message
from mailboxes import messages
from mailboxes.models import Bounce, Email


@dataclass
class BounceLine:
    message: Message  # "Bounced: a@example.com: mailbox does not exist (5.1.1)"
    diagnostic: str  # the server's words
    hard: bool


def bounce_lines(email: Email) -> tuple[list[BounceLine], list[BounceLine]]:
    """(how the email bounced, when it is ours; what it reports, when it is a bounce); one
    indexed query."""
    rows = (
        Bounce.objects.filter(Q(sent_email=email) | Q(email=email))
        .select_related("address")
        .order_by("created_at", "pk")
    )
    bounced, reported = [], []
    for row in rows:
        line = BounceLine(
            message=messages.BOUNCED(address=row.address.address, status=row.status or "-"),
            diagnostic=row.diagnostic,
            hard=row.hard,
        )
        if row.sent_email_id == email.pk:
            bounced.append(line)
        if row.email_id == email.pk:
            reported.append(line)
    return bounced, reported
