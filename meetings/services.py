"""Meetings from invitations: add one, answer it (an iTIP REPLY through the sending path),
and keep it in step with what the organizer and the attendees mail later."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.addresses import records_for_addresses
from crm.models import Contact
from crm.stream import note_create
from mailboxes.models import Attachment, Email
from mailboxes.sending.compose import AttachmentPart, Mailbox
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.exceptions import SendError
from mailboxes.sending.permissions import SendingIdentity, sending_identities
from mailboxes.sending.send import email_send
from meetings.ical import MAX_ICS_BYTES, Invitation, Person, invitation_parse, reply_build
from meetings.models import Meeting, MeetingAttendee
from meetings.notes import MEETING_ADDED, MEETING_CANCELLED
from meetings.parts import is_calendar_part

PRODID = "-//Postaci//Meetings//EN"


def calendar_attachment(email: Email) -> Attachment | None:
    """The email's calendar part (the first: Outlook and Google send the same event twice,
    in the body and as invite.ics). Reads the prefetched attachments: no query then."""
    for attachment in email.attachments.all():
        if is_calendar_part(attachment.content_type, attachment.filename):
            return attachment
    return None


def invitation_of(email: Email) -> Invitation | None:
    """The invitation an email carries, read from its stored calendar part."""
    attachment = calendar_attachment(email)
    if attachment is None or attachment.size > MAX_ICS_BYTES:
        return None
    try:
        with default_storage.open(attachment.file.name, "rb") as handle:
            data = handle.read(MAX_ICS_BYTES + 1)
    except OSError:
        return None
    return invitation_parse(data)


def meeting_of(user, invitation: Invitation) -> Meeting | None:
    """The meeting of this invitation's UID the user sees (their own first)."""
    if not invitation.uid:
        return None
    meetings = Meeting.objects.visible_to(user).filter(ical_uid=invitation.uid)
    mine_first = Case(When(created_by=user, then=Value(0)), default=Value(1))
    return meetings.order_by(mine_first, "pk").first()


def _apply_event(meeting: Meeting, invitation: Invitation) -> None:
    meeting.title = invitation.title or meeting.title or _("(no title)")
    meeting.start = invitation.start
    meeting.end = invitation.end
    meeting.all_day = invitation.all_day
    meeting.time_zone = invitation.time_zone
    meeting.location = invitation.location
    meeting.description = invitation.description
    if invitation.organizer is not None:
        meeting.organizer_address = invitation.organizer.address
        meeting.organizer_name = invitation.organizer.name
    meeting.sequence = invitation.sequence
    meeting.rrule = invitation.rrule
    meeting.exdates = [d.isoformat() for d in invitation.exdates]
    meeting.overrides = [_override(o) for o in invitation.overrides]


def _override(occurrence: Invitation) -> dict:
    return {
        "recurrence_id": occurrence.recurrence_id.isoformat() if occurrence.recurrence_id else "",
        "start": occurrence.start.isoformat() if occurrence.start else "",
        "end": occurrence.end.isoformat() if occurrence.end else "",
        "cancelled": occurrence.status == "CANCELLED" or occurrence.method == "CANCEL",
    }


def _attendees_set(meeting: Meeting, people: list[Person]) -> None:
    """The meeting's attendees as the invitation lists them, each linked to the user or
    contact with that address (a few queries, whatever the number of attendees)."""
    first_of: dict[str, Person] = {}
    for person in people:  # an invitation may list an attendee twice: the first counts
        first_of.setdefault(person.address, person)
    people = list(first_of.values())
    addresses = [p.address for p in people]
    users = {
        u.email_lower: u
        for u in get_user_model()
        .objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=addresses, is_active=True)
    }
    contacts = records_for_addresses(addresses, [Contact])
    meeting.attendees.exclude(address__in=addresses).delete()
    known = {a.address: a for a in meeting.attendees.all()}
    added, kept = [], []
    for person in people:
        attendee = known.get(person.address)
        if attendee is None:
            attendee = MeetingAttendee(meeting=meeting, address=person.address)
            added.append(attendee)
        else:
            kept.append(attendee)
        attendee.name = person.name or attendee.name
        if person.partstat in MeetingAttendee.PartStat.values:
            attendee.partstat = person.partstat
        attendee.role = person.role
        # the user who answered from a mailbox of theirs stays linked
        attendee.user = users.get(person.address) or attendee.user
        attendee.contact = (contacts.get(person.address) or [None])[0]
    MeetingAttendee.objects.bulk_create(added)
    MeetingAttendee.objects.bulk_update(kept, ["name", "partstat", "role", "user", "contact"])


@transaction.atomic
def meeting_create(*, user, email: Email, invitation: Invitation) -> Meeting:
    """Add the invitation of ``email`` as a meeting on the email's record (the user's
    existing one of the same UID when there is one); the record's stream says so."""
    existing = meeting_of(user, invitation)
    if existing is not None:
        return existing
    meeting = Meeting(
        ical_uid=invitation.uid,
        source_email=email,
        created_by=user,
        parent_type=email.parent_type,
        parent_id=email.parent_id,
    )
    _apply_event(meeting, invitation)
    if invitation.method == "CANCEL" or invitation.status == "CANCELLED":
        meeting.status = Meeting.Status.CANCELLED
    meeting.save()
    _attendees_set(meeting, invitation.attendees)
    if email.parent is not None:
        note_create(
            parent=email.parent,
            type=MEETING_ADDED.type,
            author=user,
            related=meeting,
            data={"title": meeting.title},
        )
    return meeting


def reply_identity(user, invitation: Invitation) -> tuple[SendingIdentity, Person] | None:
    """The address the user answers as: one they may send from that the invitation invited
    (a personal address before a group one); None when none of theirs was invited."""
    for identity in sending_identities(user):
        attendee = invitation.attendee(identity.address)
        if attendee is not None:
            return identity, attendee
    return None


_SUBJECTS = {
    "ACCEPTED": lambda title: _("Accepted: %(title)s") % {"title": title},
    "TENTATIVE": lambda title: _("Tentative: %(title)s") % {"title": title},
    "DECLINED": lambda title: _("Declined: %(title)s") % {"title": title},
}
_BODIES = {
    "ACCEPTED": lambda name: _("%(name)s has accepted this invitation.") % {"name": name},
    "TENTATIVE": lambda name: (
        _("%(name)s has tentatively accepted this invitation.") % {"name": name}
    ),
    "DECLINED": lambda name: _("%(name)s has declined this invitation.") % {"name": name},
}


def meeting_respond(
    *, user, email: Email, invitation: Invitation, partstat: str, now: datetime | None = None
) -> tuple[Meeting, Email]:
    """Answer the invitation of ``email``: the meeting is added (or found), the user's
    attendee row takes ``partstat``, and the iTIP REPLY goes to the organizer from the
    invited address through the ordinary send (its From permission checks included)."""
    if partstat not in _SUBJECTS:
        raise SendError(_("Choose Accept, Tentative or Decline."))
    if invitation.method != "REQUEST":
        raise SendError(_("Only an invitation can be answered."))
    if invitation.organizer is None:
        raise SendError(_("The invitation names no organizer to answer."))
    chosen = reply_identity(user, invitation)
    if chosen is None:
        raise SendError(_("None of the addresses you may send from was invited."))
    identity, attendee = chosen
    attendee = Person(address=identity.address, name=identity.name or attendee.name)
    ics = reply_build(
        invitation,
        attendee=attendee,
        partstat=partstat,
        prodid=PRODID,
        now=now or timezone.now(),
    )
    with transaction.atomic():
        meeting = meeting_create(user=user, email=email, invitation=invitation)
        MeetingAttendee.objects.update_or_create(
            meeting=meeting,
            address=identity.address,
            defaults={"partstat": partstat, "user": user, "name": attendee.name},
        )
        sent = email_send(
            user=user,
            data=ComposeData(
                from_account_id=identity.account_id,
                to=[Mailbox(invitation.organizer.address, invitation.organizer.name)],
                # a title is the sender's text: one line, whatever it holds
                subject=_SUBJECTS[partstat](" ".join(invitation.title.split())),
                body_text=_BODIES[partstat](attendee.name or attendee.address),
                uploads=[
                    # inline: sent as the text/calendar; method=REPLY body part (compose.py)
                    AttachmentPart("reply.ics", "text/calendar", ics, inline=True)
                ],
                parent=email.parent,
                replied=email,
            ),
        )
    return meeting, sent


def invitation_apply(invitation: Invitation, *, sender: str) -> int:
    """What a calendar message arriving by mail changes; the number of meetings changed.

    CANCEL from the organizer cancels the meeting (or one occurrence of it); a REQUEST from
    the organizer with a higher SEQUENCE updates it; a REPLY from an attendee records their
    answer. Anyone else's message, or an older SEQUENCE, changes nothing.
    """
    changed = 0
    meetings = list(Meeting.objects.filter(ical_uid=invitation.uid).prefetch_related("attendees"))
    for meeting in meetings:
        if invitation.method == "REPLY":
            changed += _reply_apply(meeting, invitation, sender)
            continue
        if sender != meeting.organizer_address or invitation.sequence < meeting.sequence:
            continue
        if invitation.method == "CANCEL":
            changed += _cancel_apply(meeting, invitation)
        elif invitation.method == "REQUEST" and (
            invitation.sequence > meeting.sequence or invitation.recurrence_id is not None
        ):
            changed += _update_apply(meeting, invitation)
    return changed


def _cancel_apply(meeting: Meeting, invitation: Invitation) -> int:
    if invitation.recurrence_id is not None:
        moment = invitation.recurrence_id.isoformat()
        if moment not in meeting.exdates:
            meeting.exdates = [*meeting.exdates, moment]
        meeting.save(update_fields=["exdates", "modified_at"])
        return 1
    meeting.status = Meeting.Status.CANCELLED
    meeting.sequence = invitation.sequence
    meeting.save(update_fields=["status", "sequence", "modified_at"])
    if meeting.parent is not None:
        note_create(
            parent=meeting.parent,
            type=MEETING_CANCELLED.type,
            related=meeting,
            data={"title": meeting.title},
            notify=False,
        )
    return 1


def _update_apply(meeting: Meeting, invitation: Invitation) -> int:
    if invitation.recurrence_id is not None:  # one occurrence moved
        entry = _override(invitation)
        others = [o for o in meeting.overrides if o.get("recurrence_id") != entry["recurrence_id"]]
        meeting.overrides = [*others, entry]
        meeting.save(update_fields=["overrides", "modified_at"])
        return 1
    _apply_event(meeting, invitation)
    if meeting.status == Meeting.Status.CANCELLED:
        meeting.status = Meeting.Status.PLANNED
    meeting.save()
    _attendees_set(meeting, invitation.attendees)
    return 1


def _reply_apply(meeting: Meeting, invitation: Invitation, sender: str) -> int:
    if invitation.sequence < meeting.sequence:
        return 0
    changed = 0
    for person in invitation.attendees:
        if person.address != sender or person.partstat not in MeetingAttendee.PartStat.values:
            continue  # only the attendee themselves answers for themselves
        attendee = next((a for a in meeting.attendees.all() if a.address == person.address), None)
        if attendee is None:
            attendee = MeetingAttendee(meeting=meeting, address=person.address, name=person.name)
        attendee.partstat = person.partstat
        attendee.save()
        changed = 1
    return changed
