"""Sending, one module per role:

- ``drafts``: what a person composed (``ComposeData``), its checks, writing the Email with its
  recipients and attachments, ``email_save_draft``;
- ``send``: ``email_send``, ``email_send_automatic`` (the same path, without a user),
  ``email_retry`` and the Sent-copy retry;
- ``delivery``: ``email_deliver`` (the ``send_email`` task's work, at most once) and
  ``sending_recover``;
- ``scheduling``: send later and undo send (``email_schedule``, ``email_unschedule``, the
  release when due, beat's ``scheduled_send_due``); ``send_options``: their form fields;
- ``replies``: reply, reply-all and forward prefill (case replies: ``cases.replies``);
- ``account_check``: the "Send test email" button;
- ``compose_tools``, ``send_actions``: what other apps add to compose forms (controls, files
  such as a template's) and to a send (a case's status, set once the server accepted it);
- ``smtp``, ``permissions``, ``compose``, ``store_sent``: the SMTP connection, who may send as
  which address, building the message, the copy appended to the Sent folder.
"""
