"""FALLBACK until the linking branch is merged — delete this module at merge.

The linking work provides ``mailboxes/message_ids.py`` (``message_id_new(parent=None)``, a
signed Message-ID naming the parent record) and ``note_email_sent(email)`` (the "email sent"
stream note). Sending uses them only through ``mailboxes/sending/linking.py``; at merge,
point the two imports there at the real ones and delete this file.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

_SALT = "postaci.message-id"


def message_id_new(parent=None) -> str:
    """``<random.app-model.pk.signature@domain>`` (no parent: ``<random.signature@domain>``)."""
    token = secrets.token_hex(8)
    local = token
    if parent is not None:
        local = f"{token}.{parent._meta.app_label}-{parent._meta.model_name}.{parent.pk}"
    signature = signing.Signer(salt=_SALT).signature(local)[:16]
    return f"<{local}.{signature}@{settings.POSTACI_MESSAGE_ID_DOMAIN}>"


def note_email_sent(email) -> None:
    """The "email sent" note on the email's parent (its followers are notified)."""
    from crm.models import Note
    from crm.stream import note_create

    parent = email.parent
    if parent is None:
        return
    try:
        with transaction.atomic():
            note_create(
                parent=parent, type=Note.Type.EMAIL_SENT, author=email.sent_by, related=email
            )
    except IntegrityError:  # one email note per email and record: already there
        pass
