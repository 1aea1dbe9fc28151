"""What the stream and the bell say about emails: notes, notifications and the digest."""
