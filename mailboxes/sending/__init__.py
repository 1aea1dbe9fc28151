"""Sending: per-account SMTP, who may send as which address, building the message, the
send/draft/retry services, and the copy appended to the Sent folder.

``service.py`` is the entry point (``email_send``, ``email_save_draft``, ``email_retry``,
``case_reply_initial``); the Celery tasks in mailboxes/tasks.py call ``email_deliver``.
"""
