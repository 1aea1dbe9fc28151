"""What sending needs from linking: signed Message-IDs and the "email sent" stream note."""

from mailboxes.message_ids import message_id_new, note_email_sent

__all__ = ["message_id_new", "note_email_sent"]
