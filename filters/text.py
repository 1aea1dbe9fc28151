"""Text normalisation for filter matching: caseless folding and whitespace.

The visible text of an HTML body comes from ``mailboxes.html_text.html_visible_text``.

The folding rule (``fold``), applied alike to patterns and to the text they are matched on:

1. NFKC normalisation (compatibility forms fold: full-width letters are plain ones, ``ﬁ`` is ``fi``;
   a decomposed ``I`` + U+0307 becomes ``İ``).
2. The four Turkish/Azeri i's are made one letter before case folding: ``I``, ``ı`` (dotless
   small), ``İ`` (dotted capital) and ``i`` all become ``i``. ``str.casefold`` alone maps
   ``İ`` to ``i`` + combining dot above (so "İADE" would not contain "iade") and keeps ``ı``
   apart from ``i``; a Turkish user types "iade" for "İADE" and "kapı" or "kapi" for "KAPI"
   depending on their keyboard, so all four compare equal. The cost, matching the dotless
   "ı" with "i" in a Turkish word, is harmless for a mail filter.
3. ``str.casefold`` (full Unicode case folding: ``ß`` and ``ẞ`` become ``ss``,
   a final sigma is a sigma).
4. Any remaining ``i`` + U+0307 (a lower-case i typed with a combining dot) becomes ``i``,
   and the result is recomposed (NFC).

Runs of whitespace (line breaks, tabs, no-break spaces) count as one space, since text bodies
wrap lines anywhere and folded subject headers keep odd spacing (``collapse_space``,
``normalize_space``).
"""

from __future__ import annotations

import re
import unicodedata

_TURKISH_I = str.maketrans({"İ": "i", "ı": "i", "I": "i"})
_COMBINING_DOT_ABOVE = "\u0307"


def fold(text: str) -> str:
    """Caseless form of ``text`` for comparison (see the module docstring for the rule)."""
    if text.isascii():
        return text.lower()  # NFKC and full folding are the identity/lower() on ASCII
    text = unicodedata.normalize("NFKC", text).translate(_TURKISH_I).casefold()
    if _COMBINING_DOT_ABOVE in text:
        text = text.replace("i" + _COMBINING_DOT_ABOVE, "i")
    # casefold may leave decomposed sequences (Greek iota with two accents): compose them again
    return unicodedata.normalize("NFC", text)


_WHITESPACE = re.compile(r"\s+")


def collapse_space(text: str) -> str:
    """Turn every run of whitespace (including no-break spaces) into one space."""
    return _WHITESPACE.sub(" ", text)


def normalize_space(text: str) -> str:
    """``collapse_space``, and no whitespace at either end."""
    return " ".join(text.split())
