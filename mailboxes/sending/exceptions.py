"""Errors of the sending side; ``str()`` is a sentence the user can act on, ``field`` names
the compose-form field it belongs to ("" for the whole form)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from mailboxes.exceptions import MailError


class SendError(MailError):
    """The message cannot be sent (or saved) as it is."""

    code = "send"
    field = ""
    default_message = _("The email could not be sent.")

    def __init__(self, message: str = "", *, field: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        if field is not None:
            self.field = field


class FromNotAllowed(SendError, PermissionDenied):
    """The user may not send as that address (forged or no longer permitted From)."""

    code = "from_not_allowed"
    field = "from_account"
    default_message = _("You may not send from this address.")


class HeaderInjection(SendError, ValueError):
    """A header value contains a line break: it could smuggle extra headers in."""

    code = "header_injection"
    default_message = _("Line breaks are not allowed here.")


class InvalidAddress(SendError, ValueError):
    code = "invalid_address"
    default_message = _("This is not a valid email address.")


class UndeliverableRecipient(SendError):
    """Automatic mail to an address known to be invalid (crm.deliverability)."""

    code = "undeliverable"
    field = "to"


class NotSendable(SendError):
    """The email is in a state that cannot be sent or changed (already sent, say)."""

    code = "not_sendable"
    default_message = _("This email cannot be sent in its current state.")


class DraftConflict(NotSendable):
    """The draft was saved elsewhere (another tab) since this copy of it was loaded.

    ``current``: the draft's version now, so the page can keep its own text on purpose.
    """

    code = "draft_conflict"
    default_message = _(
        "This draft was changed in another tab or window since you opened it, so your changes "
        "here were not saved."
    )

    def __init__(self, message: str = "", *, current: int = 0, **kwargs):
        super().__init__(message, **kwargs)
        self.current = current


class DeliveryError(SendError):
    """The SMTP server (or the way to it) refused or failed.

    ``transient``: worth retrying later (4xx, connection problems). ``uncertain``: the
    connection broke while the message was being handed over, so it may have been delivered.
    """

    code = "delivery"
    default_message = _("The mail server did not accept the email.")

    def __init__(
        self, message: str = "", *, transient: bool = False, uncertain: bool = False, **kwargs
    ):
        super().__init__(message, **kwargs)
        self.transient = transient
        self.uncertain = uncertain
