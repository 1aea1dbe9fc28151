"""Intake step 10b (mailboxes/intake/pipeline.py): a calendar message arriving by mail —
the organizer's CANCEL or updated REQUEST, an attendee's REPLY — reaches the meetings of
its UID. Messages without a calendar part cost nothing (no query, and the iCalendar library
and the meeting services are not even imported: a fetch of support mail never needs them)."""

from __future__ import annotations

from mailboxes.intake.context import IntakeContext
from meetings.parts import is_calendar_part


def calendar_batch(batch: list[IntakeContext]) -> None:
    for ctx in batch:
        if not ctx.is_new_email or ctx.parsed.sender is None:
            continue  # the same message through a second mailbox was applied already
        part = next(
            (a for a in ctx.parsed.attachments if is_calendar_part(a.content_type, a.filename)),
            None,
        )
        if part is None:
            continue
        from meetings.ical import invitation_parse
        from meetings.services import invitation_apply

        invitation = invitation_parse(part.payload)
        if invitation is not None and invitation.method in ("CANCEL", "REQUEST", "REPLY"):
            invitation_apply(invitation, sender=ctx.parsed.sender.address)
