"""Sentences stored as a code and parameters, rendered in the reader's language when shown.

A row never holds an English sentence such as "The server refused the user name or
password.": it holds ``{"code": "mail.auth_refused", "params": {...}}``, and whoever reads it
sees the code's sentence in their own language. Each app defines its codes with
:func:`message_define` in its ``messages`` module, which its ``AppConfig.ready`` imports; the
definition is also the constructor (``AUTH_REFUSED(reply=...)``), so a writer cannot store a
parameter the sentence does not read, nor leave out one it does.

Rows written before codes existed keep their sentence as ``text``. It goes through the
catalogue when shown (a sentence that is a known msgid still appears translated), otherwise it
is shown as it is; so is an unknown code's ``text``.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

_DEFINITIONS: dict[str, MessageDef] = {}
_TOKEN = re.compile("\x00(\\d+)\x00")

Display = Callable[[Any], Any]


def _msgids(text: str | Promise) -> list[str]:
    """The English source(s) of a sentence: a plain string, a ``gettext_lazy`` or a
    ``ngettext_lazy`` (singular and plural)."""
    if isinstance(text, str):
        return [text]
    kw = getattr(text, "_kw", None) or {}
    if "singular" in kw:
        return [kw["singular"], kw["plural"]]
    args = getattr(text, "_args", None)
    if args:
        return [args[-1]]
    raise ImproperlyConfigured(f"Cannot read the source of the sentence {text!r}.")


def placeholders_of(text: str | Promise) -> frozenset[str]:
    """The ``{name}`` placeholders of a sentence (all forms of a plural)."""
    names = set()
    for msgid in _msgids(text):
        for _literal, name, _spec, _conversion in string.Formatter().parse(msgid):
            if name is not None:
                if not name.isidentifier():
                    raise ImproperlyConfigured(f"Placeholders are named: {msgid!r}")
                names.add(name)
    return frozenset(names)


def msgid_of(text: Promise) -> str:
    """The English source of a parameterless lazy sentence (``gettext_lazy("...")``)."""
    return _msgids(text)[0]


def _missing(value) -> bool:
    if isinstance(value, Message):
        return not value
    return value is None or value == "" or value == {} or value == []


def _shown(value, *, html: bool):
    """A parameter as shown: a nested message rendered, a list of them joined by "; ", a lazy
    string translated now."""
    if isinstance(value, Message):
        return value.render(html=html)
    if isinstance(value, dict):
        return Message.coerce(value).render(html=html)
    if isinstance(value, list):
        shown = [
            conditional_escape(_shown(item, html=html)) if html else str(_shown(item, html=html))
            for item in value
        ]
        return mark_safe("; ".join(shown)) if html else "; ".join(shown)  # noqa: S308
    if isinstance(value, Promise):
        return str(value)
    return value


def format_sentence(
    text: str | Promise,
    values: Mapping[str, Any],
    *,
    html: bool = False,
    code: str = "",
    display: Mapping[str, Display] | None = None,
) -> str:
    """``text`` (translated now) with its placeholders filled from ``values``.

    A placeholder without a value is logged as an error (``crm.messages``) and left empty:
    the page still renders, and the tests, which fail on such a log line, catch the writer
    that forgot it. With ``html`` the sentence and the values are escaped, except values
    that are already safe (a link, a name in <strong>).
    """
    display = display or {}
    filled: dict[str, Any] = {}
    for name in placeholders_of(text):
        value = values.get(name)
        if _missing(value):
            logger.error("Sentence %s shown without its parameter %r", code or text, name)
            filled[name] = ""
            continue
        if name in display:
            value = display[name](value)
        filled[name] = _shown(value, html=html)
    if not html:
        return text.format(**filled)
    safe: list[str] = []
    tokens = {}
    for name, value in filled.items():
        if isinstance(value, int | float):
            continue  # numbers choose the plural form and need no escaping
        tokens[name] = f"\x00{len(safe)}\x00"
        safe.append(conditional_escape(value))
    sentence = escape(text.format(**(filled | tokens)))
    return mark_safe(_TOKEN.sub(lambda m: safe[int(m.group(1))], sentence))  # noqa: S308


class MessageDef:
    """A sentence with named placeholders, stored as its ``code`` and the parameters.

    ``display`` turns a stored parameter into what the reader sees, at display time and in
    their language (a status code into its label, say).
    """

    def __init__(self, code: str, text: str | Promise, *, display=None) -> None:
        self.code = code
        self.text = text
        self.display: Mapping[str, Display] = display or {}

    def __repr__(self) -> str:
        return f"<MessageDef {self.code}>"

    @cached_property
    def placeholders(self) -> frozenset[str]:
        return placeholders_of(self.text)

    def __call__(self, **params) -> Message:
        """A message of this code; every placeholder needs a value, and nothing else goes in."""
        unknown = set(params) - self.placeholders
        missing = {name for name in self.placeholders if _missing(params.get(name))}
        if unknown or missing:
            raise TypeError(
                f"{self.code}: unknown parameters {sorted(unknown)}, missing {sorted(missing)}"
            )
        return Message(self.code, {name: _stored(value) for name, value in params.items()})

    def render(self, params: Mapping[str, Any], *, html: bool = False) -> str:
        return format_sentence(self.text, params, html=html, code=self.code, display=self.display)


def _stored(value):
    """A parameter as stored in JSON: nested messages as their dicts, lazy text by msgid."""
    if isinstance(value, Message):
        return value.as_json()
    if isinstance(value, Promise):
        return Message(text=msgid_of(value)).as_json()
    if isinstance(value, list | tuple):
        return [_stored(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def message_define(code: str, text: str | Promise, *, display=None) -> MessageDef:
    """Register the sentence of ``code`` (once); returns its definition and constructor."""
    if code in _DEFINITIONS:
        raise ImproperlyConfigured(f"The message code {code!r} is defined twice.")
    definition = _DEFINITIONS[code] = MessageDef(code, text, display=display)
    return definition


def message_definition(code: str) -> MessageDef | None:
    return _DEFINITIONS.get(code)


def message_definitions() -> dict[str, MessageDef]:
    return dict(_DEFINITIONS)


class Message:
    """A stored sentence: ``code`` and ``params``, or an old row's ``text``.

    ``str()`` renders it in the active language, so a template shows it with ``{{ value }}``.
    """

    __slots__ = ("code", "params", "text")

    def __init__(self, code: str = "", params: Mapping | None = None, *, text: str = "") -> None:
        self.code = code
        self.params = dict(params or {})
        self.text = text

    @classmethod
    def coerce(cls, value) -> Message:
        """A Message from what a column or a caller holds: a dict, a lazy sentence (kept by
        its msgid), an object that knows its message (``as_message()``), or plain text."""
        if isinstance(value, Message):
            return value
        if value is None or value == "" or value == {}:
            return cls()
        if isinstance(value, dict):
            return cls(value.get("code", ""), value.get("params"), text=value.get("text", ""))
        if isinstance(value, Promise):
            return cls(text=msgid_of(value))
        as_message = getattr(value, "as_message", None)
        if callable(as_message):
            return as_message()
        return cls(text=str(value))

    def as_json(self) -> dict:
        data: dict[str, Any] = {}
        if self.code:
            data["code"] = self.code
            data["params"] = self.params
        if self.text:
            data["text"] = self.text
        return data

    def render(self, *, html: bool = False) -> str:
        definition = _DEFINITIONS.get(self.code) if self.code else None
        if definition is not None:
            return definition.render(self.params, html=html)
        if self.code and not self.text:
            logger.error("Unknown message code %r", self.code)
        text = gettext(self.text) if self.text else self.code
        return conditional_escape(text) if html else text

    def __str__(self) -> str:
        return self.render()

    def __html__(self) -> SafeString:
        return self.render(html=True)

    def __bool__(self) -> bool:
        return bool(self.code or self.text)

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and self.as_json() == other.as_json()

    def __hash__(self) -> int:
        return hash((self.code, self.text))

    def __repr__(self) -> str:
        return f"<Message {self.as_json()!r}>"


class _MessageAttribute(DeferredAttribute):
    """Whatever is assigned becomes a :class:`Message` (a str from an old caller, a dict)."""

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = Message.coerce(value)


class MessageField(models.JSONField):
    """A :class:`Message` in a JSON column; empty is ``{}``."""

    descriptor_class = _MessageAttribute

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        return Message.coerce(value) if isinstance(value, dict | str) or value is None else value

    def to_python(self, value):
        return Message.coerce(value)

    def get_prep_value(self, value):
        if isinstance(value, Message):
            value = value.as_json()
        return super().get_prep_value(value)

    def value_to_string(self, obj) -> Any:
        return Message.coerce(self.value_from_object(obj)).as_json()
