"""The stream notes only cases write (crm.kinds): a case opened from an email, a case reopened
by the customer's reply. The mailbox that acted is the note's ``by``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.kinds import note_kind_define


def _status_label(note, value: str) -> str:
    from cases.models import Case

    return str(dict(Case.Status.choices).get(value, value))


CASE_OPENED = note_kind_define(
    "case_opened",
    stream=[_("{actor} opened this case from an email")],
    notification=[_("{actor} opened {record} from an email")],
    extras=["email_id", "group_account_id"],
    related_text=False,  # the email's own note, just below, shows its text
)
CASE_REOPENED = note_kind_define(
    "case_reopened",
    stream=[_("A reply from {sender} reopened this case: {old} → {new}")],
    notification=[_("A reply from {sender} reopened {record}")],
    extras=["email_id"],
    display={"old": _status_label, "new": _status_label},
    related_text=False,  # the reply is in the stream already; this note links to it
)
