"""Errors are stored as messages (code and parameters, crm.messages), not English sentences:
MailAccount.last_error, Email.send_error, OutgoingMessage.sent_copy_error, RawMessage.error,
and the text of "could not be fetched" notifications.

The English sentences written so far are read back into codes where their form is known
(the server's own words stay verbatim as parameters); anything else is kept as ``text``, which
still renders (translated when it is a catalogue entry).
"""

import re

from django.db import migrations

import crm.messages


def _message(code: str, **params) -> dict:
    return {"code": code, "params": params}


# Sentences of mailboxes/messages.py as they were written in English before this migration.
_FORMS = [
    (r"No host is set\.", "mail.no_host"),
    (r"The host name “(?P<host>.*)” was not found\.", "mail.dns"),
    (
        r"“(?P<host>.*)” points to a private or loopback address; ask an administrator to add "
        r"it to POSTACI_MAIL_HOST_ALLOWLIST if it is meant\.",
        "mail.host_private",
    ),
    (r"The server did not answer in time\.", "mail.timeout"),
    (r"The server's certificate is not trusted: (?P<reason>.*)", "mail.certificate"),
    (
        r"The secure connection failed \(check the port and security setting\)\.",
        "mail.tls",
    ),
    (r"The server refused the connection \(check host and port\)\.", "mail.refused"),
    (r"The server could not be reached: (?P<reason>.*)", "mail.unreachable"),
    (r"The mail server could not be used\.", "mail.unusable"),
    (r"The server refused the user name or password\.", "mail.imap_auth"),
    (r"The IMAP server answered unexpectedly: (?P<reason>.*)", "mail.imap_protocol"),
    (
        r"A fetch of this account is still running; try again shortly\.",
        "mail.fetch_running",
    ),
    (r"The account no longer exists\.", "mail.fetch_account_gone"),
    (r"Folder “(?P<folder>.*?)”: (?P<error>.*)", "mail.fetch_folder"),
    (
        r"The SMTP server refused the user name or password \((?P<reply>.*)\)\.",
        "mail.smtp_auth",
    ),
    (r"The server refused the recipients: (?P<list>.*)", "mail.smtp_recipients"),
    (r"The server asked to try again later: (?P<reply>.*)", "mail.smtp_temporary"),
    (r"The server refused the email: (?P<reply>.*)", "mail.smtp_rejected"),
    (
        r"The server does not support what the account settings ask for: (?P<reason>.*)",
        "mail.smtp_unsupported",
    ),
    (
        r"The connection to the server broke while the email was being handed over "
        r"\((?P<reason>.*)\)\. It may or may not have been delivered\.",
        "mail.smtp_interrupted",
    ),
    (r"Attempt (?P<attempt>\d+) failed, trying again: (?P<error>.*)", "mail.send_retrying"),
    (r"Sent, but the server refused: (?P<list>.*)", "mail.sent_partly_refused"),
    (r"The account to send this email through is gone\.", "mail.send_account_gone"),
    (
        r"Sending was interrupted while the email was being handed to the server, so it may "
        r"or may not have been delivered\. Check with the recipient before retrying\.",
        "mail.send_interrupted",
    ),
]
_COMPILED = [(re.compile(pattern, re.DOTALL), code) for pattern, code in _FORMS]
_NESTED = {"error"}  # parameters that were themselves one of these sentences


def parse_one(text: str) -> dict | None:
    for pattern, code in _COMPILED:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        params = {}
        for name, value in match.groupdict().items():
            if name in _NESTED:
                params[name] = parse_error(value)
            elif name == "attempt":
                params[name] = int(value)
            else:
                params[name] = value
        return _message(code, **params)
    return None


def parse_error(text: str) -> dict:
    """One sentence, several joined by "; " (a fetch that failed twice), else the text."""
    text = text.strip()
    if not text:
        return {}
    one = parse_one(text)
    if one is not None:
        return one
    parts = text.split("; ")
    if len(parts) > 1:
        parsed = [parse_one(part) for part in parts]
        if all(parsed):
            return _message("mail.errors", errors=parsed)
    return {"text": text}


_FETCH_FAILING = re.compile(
    r"The mailbox “(?P<name>.*?)” could not be fetched (?P<count>\d+) times in a row: "
    r"(?P<error>.*)",
    re.DOTALL,
)


def _convert(model, old: str, new: str, parse) -> None:
    rows = model.objects.exclude(**{old: ""}).values_list("pk", old)
    for pk, text in rows.iterator():
        model.objects.filter(pk=pk).update(**{new: parse(text)})


def _import_failed(text: str) -> dict:
    return _message("mail.import_failed", error=text)


def forwards(apps, schema_editor):
    _convert(apps.get_model("mailboxes", "MailAccount"), "last_error_text", "last_error", parse_error)
    _convert(apps.get_model("mailboxes", "Email"), "send_error_text", "send_error", parse_error)
    _convert(
        apps.get_model("mailboxes", "OutgoingMessage"),
        "sent_copy_error_text",
        "sent_copy_error",
        parse_error,
    )
    _convert(apps.get_model("mailboxes", "RawMessage"), "error_text", "error", _import_failed)
    Notification = apps.get_model("crm", "Notification")
    failures = Notification.objects.filter(type="message", data__kind="fetch_failure")
    for pk, message in failures.values_list("pk", "message").iterator():
        text = crm.messages.Message.coerce(message).text
        match = _FETCH_FAILING.fullmatch(text) if text else None
        if match is not None:
            Notification.objects.filter(pk=pk).update(
                message=_message(
                    "mail.fetch_failing",
                    name=match["name"],
                    count=int(match["count"]),
                    error=parse_error(match["error"]),
                )
            )


def backwards(apps, schema_editor):
    """Back to sentences, in the default language."""
    for model_name, field in (
        ("MailAccount", "last_error"),
        ("Email", "send_error"),
        ("OutgoingMessage", "sent_copy_error"),
        ("RawMessage", "error"),
    ):
        model = apps.get_model("mailboxes", model_name)
        for pk, message in model.objects.exclude(**{field: {}}).values_list("pk", field):
            text = str(crm.messages.Message.coerce(message))
            model.objects.filter(pk=pk).update(**{f"{field}_text": text})


def _to_message(model: str, name: str, verbose_name: str | None):
    options = {"verbose_name": verbose_name} if verbose_name else {}
    return [
        migrations.RenameField(model, name, f"{name}_text"),
        migrations.AddField(
            model_name=model, name=name, field=crm.messages.MessageField(**options)
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0006_journal_skipped_message_summary"),
        ("crm", "0004_notification_message_code"),
    ]

    operations = [
        *_to_message("mailaccount", "last_error", "last error"),
        *_to_message("email", "send_error", "sending error"),
        *_to_message("outgoingmessage", "sent_copy_error", None),
        *_to_message("rawmessage", "error", "error"),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("mailaccount", "last_error_text"),
        migrations.RemoveField("email", "send_error_text"),
        migrations.RemoveField("outgoingmessage", "sent_copy_error_text"),
        migrations.RemoveField("rawmessage", "error_text"),
    ]
