"""Cases store messages (code and parameters, crm.messages), not English sentences:
Case.assignment_reason and AutoReplyLog.reason become message columns, and the stream notes
and notifications cases wrote take the form their kinds (crm.kinds, cases/notes.py) read:

- "assign" notes: the assignee's name, the reason (from the note's English body) and the
  mailbox that decided (``by``); before, they stored only the user id and showed
  "assigned it to ·";
- reopen notes ("status" with ``from``/``to``) become "case_reopened" with the sender read
  from the English body; before, they showed "changed · to ·";
- notes of cases opened from an email become "case_opened", by their mailbox;
- "Case [#N] assigned to you: …" notifications drop the English sentence (the record and the
  mailbox say it, in the reader's language).

Known English forms are read back into codes; anything else is kept as ``text`` (still shown,
translated when it is a catalogue entry).
"""

import re

from django.db import migrations

import crm.messages


def _message(code: str, **params) -> dict:
    return {"code": code, "params": params}


def _hours_period(hours: float) -> dict:
    if hours >= 1 and float(hours).is_integer():
        return _message("cases.guard.last_hours", hours=int(hours))
    return _message("cases.guard.last_minutes", minutes=max(1, round(hours * 60)))


def _age(days: float) -> dict:
    if days >= 1 and float(days).is_integer():
        return _message("cases.auto_reply.too_old_days", days=int(days))
    return _message("cases.auto_reply.too_old_hours", hours=max(1, round(days * 24)))


_AUTO_KINDS = {
    "Auto-reply": "auto_reply",
    "Out of office": "out_of_office",
    "Bounce": "bounce",
    "Feedback report": "feedback",
    "Mailing list": "list",
    "Bulk": "bulk",
    "Our own mail": "own",
}

# (pattern, builder of the message from the match), as written in English before.
_FORMS = [
    (r"Direct assignment to (?P<user>.+)\.", lambda m: _message("cases.direct", user=m["user"])),
    (
        r"Direct assignment: the account has no assign-to user\.",
        lambda m: _message("cases.direct_no_user"),
    ),
    (
        r"Direct assignment: (?P<user>.+) is not active\.",
        lambda m: _message("cases.direct_inactive", user=m["user"]),
    ),
    (
        r"Round-robin in team “(?P<team>.*)”: next after the previous assignee\.",
        lambda m: _message("cases.round_robin", team=m["team"]),
    ),
    (
        r"Round-robin: the account has no target team\.",
        lambda m: _message("cases.round_robin_no_team"),
    ),
    (
        r"Least-busy in team “(?P<team>.*)”: (?P<count>\d+) open case\(s\) before this one\.",
        lambda m: _message("cases.least_busy", team=m["team"], count=int(m["count"])),
    ),
    (
        r"Least-busy: the account has no target team\.",
        lambda m: _message("cases.least_busy_no_team"),
    ),
    (
        r"Team “(?P<team>.*)” has no active member\.",
        lambda m: _message("cases.nobody", team=m["team"]),
    ),
    (
        r"Nobody in team “(?P<team>.*)” is active with the role “(?P<role>.*)”\.",
        lambda m: _message("cases.nobody_with_role", team=m["team"], role=m["role"]),
    ),
    (r"The account has no distribution rule\.", lambda m: _message("cases.no_rule")),
    (
        r"Unassigned: (?P<reason>.*)",
        lambda m: _message("cases.unassigned", reason=parse(m["reason"])),
    ),
    (
        r"First fetch of the mailbox \(its history\): no auto-replies\.",
        lambda m: _message("cases.auto_reply.first_fetch"),
    ),
    (
        r"The email joins case (?P<case>.+); auto-replies answer new cases only\.",
        lambda m: _message("cases.auto_reply.joins_case", case=m["case"]),
    ),
    (r"No case was opened for this email\.", lambda m: _message("cases.auto_reply.no_case")),
    (
        r"The email answers an earlier email; auto-replies answer new conversations only\.",
        lambda m: _message("cases.auto_reply.known_thread"),
    ),
    (r"The email is older than (?P<days>[\d.]+) days\.", lambda m: _age(float(m["days"]))),
    (
        r"The mailbox has no SMTP settings to send with\.",
        lambda m: _message("cases.auto_reply.no_smtp"),
    ),
    (r"The message has no sender address\.", lambda m: _message("cases.guard.no_sender")),
    (
        r"The message is automatic \(Auto-Submitted: (?P<value>.*)\)\.",
        lambda m: _message("cases.guard.auto_submitted", value=m["value"]),
    ),
    (
        r"The message is an auto-reply \((?P<header>.*) header\)\.",
        lambda m: _message("cases.guard.auto_reply_header", header=m["header"]),
    ),
    (
        r"The sender asks for no auto-reply \(X-Auto-Response-Suppress: (?P<value>.*)\)\.",
        lambda m: _message("cases.guard.suppressed", value=m["value"]),
    ),
    (
        r"The message is bulk or list mail \((?P<header>[^:]*): (?P<value>.*)\)\.",
        lambda m: _message("cases.guard.bulk", header=m["header"], value=m["value"]),
    ),
    (
        r"The message comes from a mailing list \(List-Id / List-Unsubscribe\)\.",
        lambda m: _message("cases.guard.mailing_list"),
    ),
    (
        r"The message has an empty Return-Path \(<>\): bounces and auto-replies do\.",
        lambda m: _message("cases.guard.empty_return_path"),
    ),
    (
        r"The message went through Postaci already \(X-Postaci-Loop\)\.",
        lambda m: _message("cases.guard.postaci_loop"),
    ),
    (
        r"The message has looped through us \(X-Loop: (?P<value>.*)\)\.",
        lambda m: _message("cases.guard.x_loop", value=m["value"]),
    ),
    (
        r"The message is our own mail or a reply to it\.",
        lambda m: _message("cases.guard.own_mail"),
    ),
    (
        r"The sender (?P<sender>.+) is one of our own addresses\.",
        lambda m: _message("cases.guard.own_address", sender=m["sender"]),
    ),
    (
        r"The message is a delivery or feedback report \(multipart/report\)\.",
        lambda m: _message("cases.guard.report"),
    ),
    (
        r"The sender (?P<sender>.+) does not take replies\.",
        lambda m: _message("cases.guard.no_reply_sender", sender=m["sender"]),
    ),
    (
        r"The message is automatic \((?P<label>.*)\)\.",
        lambda m: _message("cases.guard.automatic", kind=_AUTO_KINDS[m["label"]])
        if m["label"] in _AUTO_KINDS
        else None,
    ),
    # the refusal was written when the count reached the limit: the count is the limit;
    # the case form first: "case [#1]" would pass for a sender
    (
        r"Rate limit: case (?P<case>.+) already got (?P<count>\d+) auto-replies in "
        r"(?P<hours>[\d.]+) h\.",
        lambda m: _message(
            "cases.guard.case_limit",
            count=int(m["count"]),
            limit=int(m["count"]),
            case=m["case"],
            period=_hours_period(float(m["hours"])),
        ),
    ),
    (
        r"Rate limit: (?P<sender>.+) already got (?P<count>\d+) auto-replies in "
        r"(?P<hours>[\d.]+) h\.",
        lambda m: _message(
            "cases.guard.sender_limit",
            count=int(m["count"]),
            limit=int(m["count"]),
            period=_hours_period(float(m["hours"])),
        ),
    ),
]
_COMPILED = [(re.compile(pattern, re.DOTALL), build) for pattern, build in _FORMS]


def parse(text: str) -> dict:
    text = (text or "").strip()
    if not text:
        return {}
    for pattern, build in _COMPILED:
        match = pattern.fullmatch(text)
        if match is not None:
            message = build(match)
            if message is not None:
                return message
    return {"text": text}


_REOPENED = re.compile(r"Reopened by a reply from (?P<sender>.+): .* → .*\.", re.DOTALL)


def _mailbox_names(apps) -> dict[int, str]:
    GroupEmailAccount = apps.get_model("mailboxes", "GroupEmailAccount")
    return dict(GroupEmailAccount.objects.values_list("pk", "name"))


def forwards(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    AutoReplyLog = apps.get_model("cases", "AutoReplyLog")
    Note = apps.get_model("crm", "Note")
    Notification = apps.get_model("crm", "Notification")
    User = apps.get_model("crm", "User")
    ContentType = apps.get_model("contenttypes", "ContentType")

    for model, old, new in (
        (Case, "assignment_reason_text", "assignment_reason"),
        (AutoReplyLog, "reason_text", "reason"),
    ):
        for pk, text in model.objects.exclude(**{old: ""}).values_list("pk", old).iterator():
            model.objects.filter(pk=pk).update(**{new: parse(text)})

    case_type = ContentType.objects.filter(app_label="cases", model="case").first()
    if case_type is None:
        return
    mailboxes = _mailbox_names(apps)
    case_mailbox = {
        pk: mailboxes.get(account_id, "")
        for pk, account_id in Case.objects.exclude(group_account_id=None).values_list(
            "pk", "group_account_id"
        )
    }
    case_notes = Note.objects.filter(parent_type=case_type)
    names = {}

    def user_name(user_id) -> str:
        if user_id not in names:
            user = User.objects.filter(pk=user_id).first()
            names[user_id] = (
                (f"{user.first_name} {user.last_name}".strip() or user.username) if user else ""
            )
        return names[user_id]

    for note in case_notes.filter(type="assign").iterator():
        data = dict(note.data or {})
        if "assigned_user_id" in data and not data.get("assigned_user_name"):
            data["assigned_user_name"] = user_name(data["assigned_user_id"]) or "?"
        if note.body:
            data["reason"] = parse(note.body)
        if not note.author_id and case_mailbox.get(note.parent_id):
            data.setdefault("by", case_mailbox[note.parent_id])
        Note.objects.filter(pk=note.pk).update(data=data, body="")

    for note in case_notes.filter(type="status", data__has_key="to").iterator():
        data = note.data or {}
        match = _REOPENED.fullmatch(note.body or "")
        sender = match["sender"] if match else ""
        new_data = {
            "sender": sender if sender and sender != "the customer" else {"text": "the customer"},
            "old": data.get("from", ""),
            "new": data.get("to", ""),
        }
        if data.get("email_id"):
            new_data["email_id"] = data["email_id"]
        if case_mailbox.get(note.parent_id):
            new_data["by"] = case_mailbox[note.parent_id]
        Note.objects.filter(pk=note.pk).update(type="case_reopened", data=new_data, body="")

    for note in case_notes.filter(type="create", data__has_key="group_account_id").iterator():
        data = dict(note.data)
        name = mailboxes.get(data["group_account_id"]) or case_mailbox.get(note.parent_id)
        if name:
            data["by"] = name
        Note.objects.filter(pk=note.pk).update(type="case_opened", data=data)

    assigned = Notification.objects.filter(
        type="assigned", related_type=case_type, message__has_key="text"
    )
    for notification in assigned.iterator():
        text = notification.message.text
        if not re.fullmatch(r"Case \[#\d+\] assigned to you: .*", text, re.DOTALL):
            continue
        data = dict(notification.data or {})
        if case_mailbox.get(notification.related_id):
            data.setdefault("by", case_mailbox[notification.related_id])
        Notification.objects.filter(pk=notification.pk).update(message={}, data=data)


def backwards(apps, schema_editor):
    """Back to sentences, in the default language (the notes keep their new form)."""
    for model_name, field in (("Case", "assignment_reason"), ("AutoReplyLog", "reason")):
        model = apps.get_model("cases", model_name)
        for pk, message in model.objects.exclude(**{field: {}}).values_list("pk", field):
            text = str(crm.messages.Message.coerce(message))
            model.objects.filter(pk=pk).update(**{f"{field}_text": text})


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("crm", "0004_notification_message_code"),
    ]

    operations = [
        migrations.RenameField("case", "assignment_reason", "assignment_reason_text"),
        migrations.AddField(
            model_name="case",
            name="assignment_reason",
            field=crm.messages.MessageField(verbose_name="assignment"),
        ),
        migrations.RenameField("autoreplylog", "reason", "reason_text"),
        migrations.AddField(
            model_name="autoreplylog",
            name="reason",
            field=crm.messages.MessageField(verbose_name="reason"),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("case", "assignment_reason_text"),
        migrations.RemoveField("autoreplylog", "reason_text"),
    ]
