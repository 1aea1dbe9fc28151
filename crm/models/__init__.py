"""Core CRM records; mail-free by design (mailboxes, filters and cases build on these)."""

from .addresses import EmailAddress, EmailAddressLink
from .records import Account, Contact, Lead, Opportunity, Record
from .stream import Follow, Note, Notification
from .users import AccessLevel, Role, Team, TeamMembership, User

__all__ = [
    "AccessLevel",
    "Account",
    "Contact",
    "EmailAddress",
    "EmailAddressLink",
    "Follow",
    "Lead",
    "Note",
    "Notification",
    "Opportunity",
    "Record",
    "Role",
    "Team",
    "TeamMembership",
    "User",
]
