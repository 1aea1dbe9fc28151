"""Subject and address header values as they are sent: RFC 2047 encoded words and folding.

Done here rather than by the standard library's folder: Python 3.11's ``policy.SMTP`` puts
neighbouring words in adjacent encoded words with only the folding space between them, and
that space is ignored by every reader (RFC 2047 §6.2), so "hatası: İstanbul" arrived as
"hatası:İstanbul" and "Sözleşme Sözleşme" as "SözleşmeSözleşme".

The rule kept here: plain ASCII words stay as they are; from the first word that needs
encoding on, the text is carried in encoded words that hold its spaces inside them, so no
meaning rests on the whitespace between two encoded words. Every line is at most 78
characters (RFC 5322 §2.1.1), so the stdlib sends the value as built and never refolds it.
The reading side is ``mailboxes.intake.parse.decode_header_value``.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterable
from email.headerregistry import Address

MAX_LINE = 78  # RFC 5322 §2.1.1
_MAX_WORD = 75  # RFC 2047 §2
_PREFIX, _SUFFIX = "=?utf-8?q?", "?="
# the characters an encoded word may carry as they are in any header, phrases included
# (RFC 2047 §5 (3)); everything else is =XX per UTF-8 byte, a space is "_"
_Q_SAFE = frozenset(string.ascii_letters + string.digits + "!*+-/")
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_PRINTABLE = frozenset(chr(c) for c in range(0x21, 0x7F))
# a plain word longer than this cannot be folded onto a line of its own: it is encoded
_MAX_PLAIN_WORD = 60
# the least room an encoded word needs on a line: its delimiters and one 4-byte character
_MIN_ENCODED_ROOM = len(_PREFIX) + len(_SUFFIX) + 12


def _needs_encoding(word: str) -> bool:
    return (
        len(word) > _MAX_PLAIN_WORD or "=?" in word or not all(char in _PRINTABLE for char in word)
    )


def _q(char: str) -> str:
    if char in _Q_SAFE:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def _encoded_words(text: str, first_room: int) -> list[str]:
    """``text`` as UTF-8 Q encoded words holding whole characters, the first at most
    ``first_room`` characters long, the others at most 75."""
    words: list[str] = []
    current, room = "", first_room
    for char in text:
        piece = _q(char)
        if current and len(_PREFIX) + len(current) + len(piece) + len(_SUFFIX) > room:
            words.append(_PREFIX + current + _SUFFIX)
            current, room = "", _MAX_WORD
        current += piece
    words.append(_PREFIX + current + _SUFFIX)
    return words


class _Folder:
    """Lines of one header field, tokens separated by one space that may become a fold."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.line = f"{name}:"
        self.empty = True  # nothing after the name yet: never fold there

    def add(self, token: str, *, foldable: bool = True) -> None:
        if foldable and not self.empty and len(self.line) + 1 + len(token) > MAX_LINE:
            self.lines.append(self.line)
            self.line = ""
        self.line += " " + token
        self.empty = False

    def add_encoded(self, text: str) -> None:
        room = MAX_LINE - len(self.line) - 1
        if not self.empty and room < _MIN_ENCODED_ROOM:
            self.lines.append(self.line)
            self.line, room = "", MAX_LINE - 1
        for index, word in enumerate(_encoded_words(text, min(room, _MAX_WORD))):
            self.add(word, foldable=index > 0)

    def value(self) -> str:
        """The value after ``Name: ``, folded with CRLF (``EmailMessage.set_raw`` takes it)."""
        folded = "\r\n".join([*self.lines, self.line])
        return folded[len(self.name) + 2 :]


def unstructured_value(name: str, text: str) -> str:
    """The folded value of an unstructured header such as Subject."""
    folder = _Folder(name)
    words = text.split(" ")
    first_encoded = next((i for i, w in enumerate(words) if _needs_encoding(w)), len(words))
    for word in words[:first_encoded]:
        folder.add(word, foldable=bool(word))  # never a line of whitespace only
    if first_encoded < len(words):
        folder.add_encoded(" ".join(words[first_encoded:]))
    return folder.value()


def _add_phrase(folder: _Folder, name: str) -> None:
    """A display name: atoms as they are, a short ASCII name quoted, anything else encoded."""
    words = name.split(" ")
    if all(w and set(w) <= _ATEXT and not _needs_encoding(w) for w in words):
        for word in words:
            folder.add(word)
        return
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if "=?" not in name and set(name) <= _PRINTABLE | {" "} and len(quoted) <= _MAX_PLAIN_WORD:
        folder.add(quoted)
    else:
        folder.add_encoded(name)


def addr_spec(address: str) -> str:
    """``local@domain`` with the local part quoted when it must be and an international
    domain in its ASCII (IDNA) form, as a server without SMTPUTF8 needs it."""
    username, _at, domain = address.rpartition("@")
    with contextlib.suppress(UnicodeError):  # not a valid IDN: left for the server to refuse
        domain = domain.encode("idna").decode("ascii")
    return Address(username=username, domain=domain).addr_spec


def address_value(name: str, mailboxes: Iterable[tuple[str, str]]) -> str:
    """The folded value of an address header (From, To, Cc, Reply-To) for
    ``(display name, address)`` pairs."""
    folder = _Folder(name)
    pairs = list(mailboxes)
    for index, (display_name, address) in enumerate(pairs):
        comma = "," if index < len(pairs) - 1 else ""
        display_name = " ".join(display_name.split())
        if display_name:
            _add_phrase(folder, display_name)
            folder.add(f"<{addr_spec(address)}>{comma}")
        else:
            folder.add(f"{addr_spec(address)}{comma}")
    return folder.value()
