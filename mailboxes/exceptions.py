"""Errors of the mail side, each with a stable ``code`` and a sentence a user can act on."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.messages import Message


class MailError(Exception):
    """Base of every mail error.

    ``message`` is the sentence as a :class:`~crm.messages.Message` (a code and parameters),
    which is what a row stores (``MessageField``); ``str()`` renders it in the active
    language, for a page or form shown now. ``detail`` is the server's own words.
    """

    code = "error"
    default_message = _("The mail server could not be used.")

    def __init__(
        self, message: str | Promise | Message = "", *, code: str | None = None, detail: str = ""
    ):
        self.message = Message.coerce(message or self.default_message)
        super().__init__(self.message)
        if code:
            self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return str(self.message)

    def as_message(self) -> Message:
        return self.message


class MailHostNotAllowed(MailError):
    """The host resolves to a loopback/private address and is not on the allow-list."""

    code = "host_not_allowed"
    default_message = _("This host points into a private network and is not allowed.")


class MailConnectionError(MailError):
    """Connecting, securing or logging in failed; ``code`` says which
    (``dns``, ``refused``, ``timeout``, ``tls``, ``auth``, ``protocol``)."""

    code = "connection"


class IntakeError(Exception):
    """A message could not be imported; it goes to the quarantine with this reason."""
