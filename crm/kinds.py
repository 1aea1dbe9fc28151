"""Kinds of stream notes and notifications: what each stores and the sentence it shows.

One definition per kind. Writers build a note's ``data`` with ``kind.data(...)``, which
refuses a parameter the kind's sentences do not read and insists on those every sentence
needs; the stream, the notifications page, the home page and the digest all render through
the same kind. So a sentence cannot read a key its writer never stored ("assigned it to ·").

A kind has several sentences, most specific first; the first whose placeholders all have a
value is shown ("created this case and assigned it to Ali", else "created this case").
Placeholders filled at display time rather than stored: ``actor`` (the author, else the
``by`` of the data: the mailbox that acted, else Postaci), ``kind`` (the record's type) and
``record`` (the record itself, in notifications).

crm defines the kinds of its own notes below; apps define theirs (emails, cases) in a module
their ``AppConfig.ready`` imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property, partial
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.messages import Message, _missing, _stored, format_sentence, placeholders_of

NOTE_CONTEXT = frozenset({"actor", "kind", "record"})
NOTIFICATION_CONTEXT = frozenset({"actor", "record", "message"})


class Sentences:
    """Alternative sentences of one kind and the parameters they read.

    ``display`` maps a stored parameter to ``f(obj, value)``: what the reader sees (``obj``
    is the note or notification being shown).
    """

    def __init__(
        self,
        name: str,
        sentences: Sequence[str | Promise],
        *,
        context: Iterable[str],
        display: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    ) -> None:
        if not sentences:
            raise ImproperlyConfigured(f"The kind {name!r} has no sentence.")
        self.name = name
        self.sentences = tuple(sentences)
        self.context = frozenset(context)
        self.display = display or {}

    @cached_property
    def placeholders(self) -> list[frozenset[str]]:
        return [placeholders_of(text) for text in self.sentences]

    @cached_property
    def stored(self) -> frozenset[str]:
        return frozenset().union(*self.placeholders) - self.context

    @cached_property
    def required(self) -> frozenset[str]:
        return frozenset.intersection(*self.placeholders) - self.context

    def choose(self, values: Mapping[str, Any]) -> str | Promise:
        for text, names in zip(self.sentences, self.placeholders, strict=True):
            if all(not _missing(values.get(name)) for name in names):
                return text
        return self.sentences[-1]  # format_sentence logs what it lacks

    def render(self, obj, values: Mapping[str, Any], *, html: bool) -> str:
        text = self.choose(values)
        display = {name: partial(show, obj) for name, show in self.display.items()}
        return format_sentence(text, values, html=html, code=self.name, display=display)


class NoteKind:
    """A kind of stream note (``Note.type``): its line in the stream, its line in the
    notifications, and what its ``data`` holds.

    ``detail`` names a stored message shown under the line (an assignment's reason);
    ``related_text=False`` keeps the related object's text out of the note (the note only
    says what happened to it); ``template`` is appended to the stream line (rendered with
    ``note``).
    """

    def __init__(
        self,
        type: str,
        *,
        stream: Sequence[str | Promise],
        notification: Sequence[str | Promise],
        extras: Iterable[str] = (),
        display: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        detail: str = "",
        related_text: bool = True,
        template: str = "",
    ) -> None:
        self.type = type
        self.stream = Sentences(type, stream, context=NOTE_CONTEXT, display=display)
        self.notification = Sentences(type, notification, context=NOTE_CONTEXT, display=display)
        self.extras = frozenset(extras) | ({detail} if detail else set()) | {"by"}
        self.detail = detail
        self.related_text = related_text
        self.template = template

    def __repr__(self) -> str:
        return f"<NoteKind {self.type}>"

    def data(self, **params) -> dict:
        """The note's ``data``: only what the sentences read (plus ``extras``), all that
        every sentence needs; empty values are left out."""
        allowed = self.stream.stored | self.notification.stored | self.extras
        values = {name: _stored(value) for name, value in params.items() if not _missing(value)}
        unknown = set(params) - allowed
        missing = (self.stream.required | self.notification.required) - set(values)
        if unknown or missing:
            raise TypeError(
                f"Note kind {self.type}: unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        return values

    def context(self, note, *, html: bool, record: bool) -> dict[str, Any]:
        actor = note_actor(note)
        parent = note.parent
        values: dict[str, Any] = {
            **(note.data or {}),
            # the stream shows the actor in bold; a notification is one link, plain text
            "actor": format_html("<strong>{}</strong>", actor) if html and not record else actor,
            "kind": parent._meta.verbose_name if parent is not None else "",
        }
        if record:
            values["record"] = str(parent) if parent is not None else ""
        return values

    def stream_line(self, note, *, html: bool = True) -> str:
        return self.stream.render(note, self.context(note, html=html, record=False), html=html)

    def notification_line(self, note, *, html: bool = True) -> str:
        values = self.context(note, html=html, record=True)
        return self.notification.render(note, values, html=html)

    def detail_of(self, note) -> Message:
        value = (note.data or {}).get(self.detail) if self.detail else None
        return Message.coerce(value) if value else Message()


def note_actor(note) -> str:
    """Who did it: the author, else the mailbox (``by``) that acted, else Postaci."""
    if note.author_id and note.author is not None:
        return str(note.author)
    data = note.data or {}
    return str(data.get("by") or data.get("from") or gettext("Postaci"))


class NotificationKind:
    """A kind of notification (``Notification.type``) other than news of a note, whose line
    comes from the note's kind."""

    def __init__(
        self,
        type: str,
        sentences: Sequence[str | Promise],
        *,
        extras: Iterable[str] = (),
        display: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        record: Callable[[Any], Any] | None = None,
    ) -> None:
        self.type = type
        self.sentences = Sentences(type, sentences, context=NOTIFICATION_CONTEXT, display=display)
        self.extras = frozenset(extras) | {"by"}
        self.record_of = record or _record_of

    def __repr__(self) -> str:
        return f"<NotificationKind {self.type}>"

    def data(self, **params) -> dict:
        values = {name: _stored(value) for name, value in params.items() if not _missing(value)}
        unknown = set(params) - self.sentences.stored - self.extras
        missing = self.sentences.required - set(values)
        if unknown or missing:
            raise TypeError(
                f"Notification kind {self.type}: unknown {sorted(unknown)}, "
                f"missing {sorted(missing)}"
            )
        return values

    def line(self, notification, *, html: bool = True) -> str:
        record = self.record_of(notification)
        values = {
            **(notification.data or {}),
            "record": str(record) if record is not None else "",
            "message": notification.message,
        }
        values["actor"] = values.get("by")
        return self.sentences.render(notification, values, html=html)


def _record_of(notification):
    """What a notification is about: its note's record, else its ``related``."""
    note = notification.note
    if note is not None and note.parent is not None:
        return note.parent
    return notification.related


_NOTE_KINDS: dict[str, NoteKind] = {}
_NOTIFICATION_KINDS: dict[str, NotificationKind] = {}


def note_kind_define(type: str, **options) -> NoteKind:
    """Register the kind of notes of ``type`` (once)."""
    if type in _NOTE_KINDS:
        raise ImproperlyConfigured(f"The note kind {type!r} is defined twice.")
    kind = _NOTE_KINDS[type] = NoteKind(type, **options)
    return kind


def notification_kind_define(type: str, sentences, **options) -> NotificationKind:
    """Register the kind of notifications of ``type`` (once)."""
    if type in _NOTIFICATION_KINDS:
        raise ImproperlyConfigured(f"The notification kind {type!r} is defined twice.")
    kind = _NOTIFICATION_KINDS[type] = NotificationKind(type, sentences, **options)
    return kind


def note_kinds() -> dict[str, NoteKind]:
    return dict(_NOTE_KINDS)


def notification_kinds() -> dict[str, NotificationKind]:
    return dict(_NOTIFICATION_KINDS)


# A note whose type nobody defines (an app removed, say) still shows who did something.
_UNKNOWN_NOTE = NoteKind(
    "unknown",
    stream=[_("{actor} updated this {kind}")],
    notification=[_("{actor} updated {record}")],
)


def note_kind_of(note) -> NoteKind:
    return _NOTE_KINDS.get(note.type, _UNKNOWN_NOTE)


def note_kind_for_type(type: str) -> NoteKind:
    """The kind a new note of ``type`` is written as; every note written has one."""
    try:
        return _NOTE_KINDS[type]
    except KeyError:
        raise ImproperlyConfigured(f"No note kind is defined for {type!r}.") from None


def notification_kind_of(notification) -> NotificationKind | None:
    """None for news of a note: the note's kind says it."""
    return _NOTIFICATION_KINDS.get(notification.type)


def notification_line(notification, *, html: bool = True) -> str:
    """The sentence of a notification in the reader's language: news of a note says what its
    note's kind says; any other kind says its own."""
    note = notification.note
    if notification.type == "note" and note is not None:
        return note_kind_of(note).notification_line(note, html=html)
    kind = notification_kind_of(notification)
    if kind is None:
        return str(notification.get_type_display())
    return kind.line(notification, html=html)


# --- crm's own kinds -------------------------------------------------------------------------


def _field_label(note, name: str) -> str:
    parent = note.parent
    if parent is None:
        return name
    try:
        return str(parent._meta.get_field(name).verbose_name)
    except Exception:  # a field renamed since: its stored name says enough
        return name


def _status_label(note, value: str) -> str:
    from crm.records import status_label

    parent = note.parent
    return status_label(parent, value) if parent is not None else value


POST = note_kind_define("post", stream=["{actor}"], notification=[_("{actor} posted on {record}")])
CREATE = note_kind_define(
    "create",
    stream=[
        _("{actor} created this {kind} and assigned it to {assigned_user_name}"),
        _("{actor} created this {kind}"),
    ],
    notification=[_("{actor} created {record}")],
)
ASSIGN = note_kind_define(
    "assign",
    stream=[_("{actor} assigned it to {assigned_user_name}")],
    notification=[_("{actor} assigned {record} to {assigned_user_name}")],
    extras=["assigned_user_id"],
    detail="reason",
)
STATUS = note_kind_define(
    "status",
    stream=[_("{actor} changed {field} to {value}")],
    notification=[_("{actor} changed {field} of {record} to {value}")],
    display={
        "field": _field_label,
        "value": lambda note, value: _status_label(note, value),
    },
)


def assign_data(user, *, reason: Message | None = None, by: str = "") -> dict:
    """The data of an "assigned" note: who got it, why (a message) and who decided when it
    was not a user (the mailbox whose rule chose)."""
    return ASSIGN.data(assigned_user_id=user.pk, assigned_user_name=str(user), reason=reason, by=by)


ASSIGNED = notification_kind_define(
    "assigned",
    [_("{actor} assigned {record} to you"), _("{record} was assigned to you")],
    extras=["case_id", "case_number"],
)
EMAIL_RECEIVED = notification_kind_define(
    "email_received",
    [_("New email on {record}"), _("New email")],
    extras=["subject", "from"],
    # the record the email is on (the email itself is ``related``, its subject shown apart)
    record=lambda notification: notification.note.parent if notification.note else None,
)
MESSAGE = notification_kind_define("message", ["{message}"], extras=["kind"])
