"""Message-IDs of the mail Postaci sends: they name the parent record and are signed.

Format (every part lower-case, so a relay that changes case cannot break it)::

    <case.123.mi3k2x1a9f3e2d1c.3f9e0c1d2b4a5968@postaci.example>
     kind id   unique part      signature (64 bits of HMAC-SHA256)

kept short so that ``Message-ID: <…>`` fits on one 78-character header line and is not folded
(the unique part is the time in base 36 and 32 random bits)

and without a parent ``<unique.signature@domain>``. The signature is an HMAC of everything
before it, keyed with the site's ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` are accepted too,
so rotating the key keeps old threads linked). A customer can therefore not attach their mail
to someone else's record by writing ``<case.7.x.y@…>`` into References: without the key the
signature cannot be made, and an unsigned or altered id is treated as a stranger's.

The domain is ``POSTACI_MESSAGE_ID_DOMAIN``; it is not part of the check, so changing it
keeps replies to older mail linked.
"""

from __future__ import annotations

import re
import secrets
import time

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils.crypto import constant_time_compare, salted_hmac

from mailboxes.linking.parents import email_parent_models, parent_kind

_SALT = "postaci.message-id"
_SIGNATURE_LENGTH = 16  # hex digits: 64 bits
_ID_RE = re.compile(
    r"^<?(?:(?P<kind>[a-z]{1,30})\.(?P<pk>[0-9]{1,20})\.)?(?P<unique>[0-9a-z]{12,40})"
    r"\.(?P<signature>[0-9a-f]{16})@[^<>@\s]+>?$"
)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
    return digits or "0"


def _signature(value: str, secret: str | None = None) -> str:
    return salted_hmac(_SALT, value, secret=secret, algorithm="sha256").hexdigest()[
        :_SIGNATURE_LENGTH
    ]


def message_id_new(parent: Model | None = None) -> str:
    """A fresh Message-ID for a message Postaci sends, naming ``parent`` when given.

    ``parent`` must be one of the email parent types (Account, Contact, Lead, Opportunity,
    Case); anything else raises ``ValueError``.
    """
    unique = f"{_base36(time.time_ns() // 1_000_000)}{secrets.token_hex(4)}"
    local = unique
    if parent is not None:
        kind = parent_kind(type(parent))
        if kind is None or parent.pk is None:
            raise ValueError(f"An email cannot belong to {parent!r}.")
        local = f"{kind}.{int(parent.pk)}.{unique}"
    return f"<{local}.{_signature(local)}@{settings.POSTACI_MESSAGE_ID_DOMAIN}>"


def _verified(message_id: str) -> re.Match | None:
    match = _ID_RE.match((message_id or "").strip().lower())
    if match is None:
        return None
    local = match.group(0).lstrip("<").split("@", 1)[0]
    signed = local.rsplit(".", 1)[0]
    given = match.group("signature")
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        if constant_time_compare(_signature(signed, secret), given):
            return match
    return None


def is_our_message_id(message_id: str) -> bool:
    """True when the id was made by :func:`message_id_new` with this site's key."""
    return _verified(message_id) is not None


def message_id_parent(message_id: str) -> tuple[ContentType, int] | None:
    """``(content type, object id)`` named by one of our Message-IDs.

    None for a stranger's id, a forged or altered one, or one of ours without a parent. Whether
    the record still exists is the caller's question.
    """
    match = _verified(message_id)
    if match is None or not match.group("kind"):
        return None
    model = email_parent_models().get(match.group("kind"))
    if model is None:
        return None
    return ContentType.objects.get_for_model(model), int(match.group("pk"))


def note_email_sent(email, extra: dict | None = None, told=()):
    """The "email sent" stream note for mail sent from Postaci; its followers are notified.

    Here beside :func:`message_id_new` because sending needs both; the rules live in
    ``mailboxes.notes.email_notes.note_email_sent``. Returns the note, or None when the email has no
    parent or its note exists already.
    """
    from mailboxes.notes.email_notes import note_email_sent as create

    return create(email, extra=extra, told=told)
