"""Mail accounts, the intake journal, stored emails and per-user inbox state."""

from .accounts import (
    FolderCursor,
    GroupEmailAccount,
    MailAccount,
    PersonalEmailAccount,
    Security,
)
from .bounces import Bounce
from .emails import Attachment, Email, EmailRecipient, EmailUser
from .folders import EmailFolder, GroupEmailFolder
from .imports import MailImport
from .journal import RawMessage
from .oauth import AuthMethod, OAuthFlow, OAuthProvider, OAuthState
from .outgoing import OutgoingMessage
from .search import EmailSearch
from .signatures import UserSignature

__all__ = [
    "Attachment",
    "AuthMethod",
    "Bounce",
    "Email",
    "EmailFolder",
    "EmailRecipient",
    "EmailSearch",
    "EmailUser",
    "FolderCursor",
    "GroupEmailAccount",
    "GroupEmailFolder",
    "MailAccount",
    "MailImport",
    "OAuthFlow",
    "OAuthProvider",
    "OAuthState",
    "OutgoingMessage",
    "PersonalEmailAccount",
    "RawMessage",
    "Security",
    "UserSignature",
]
