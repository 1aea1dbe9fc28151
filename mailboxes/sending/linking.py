"""The one place sending reaches the linking work (signed Message-IDs, "email sent" notes).

MERGE: replace the import below with
    from mailboxes.message_ids import message_id_new, note_email_sent
and delete mailboxes/sending/message_id_fallback.py.
"""

from mailboxes.sending.message_id_fallback import message_id_new, note_email_sent

__all__ = ["message_id_new", "note_email_sent"]
