"""Views of the Emails area and of mailbox management, one module per screen family:

- ``inbox``: folder lists, live updates, bulk actions
- ``email``: one email, its sandboxed body, attachments, raw source, per-email actions
- ``folders``: personal folders (users) and group folders (administrators)
- ``accounts``: personal and group email accounts, connection test, fetch, cursor reset
- ``quarantine``: messages that failed to import, with Retry
"""
