"""Errors of the mail side, each with a stable ``code`` and a sentence a user can act on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class MailError(Exception):
    """Base of every mail error; ``str()`` is the user-facing sentence."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None, detail: str = ""):
        super().__init__(message or self.default_message)
        if code:
            self.code = code
        self.detail = detail

    default_message = _("The mail server could not be used.")


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
