"""Text normalisation for filter matching: caseless folding and HTML to text.

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

import html
import re
import unicodedata

import nh3

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


# Elements whose edges separate words: "<td>Total</td><td>100</td>" reads "Total 100".
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th",
        "tr", "ul",
    }
)  # fmt: skip
# Elements whose content is not text a reader sees.
_INVISIBLE_TAGS = frozenset({"head", "noscript", "script", "style", "template", "title"})
# nh3's output keeps only the block tags above, without attributes, and escapes every "<" in
# text, so this pattern sees well-formed, attribute-free tags only.
_SANITIZED_TAG = re.compile(r"</?[a-z0-9]+\s*/?>")


def html_to_text(markup: str) -> str:
    """The visible text of an HTML body, with block boundaries as spaces.

    nh3 (html5ever, a spec-compliant parser) does the parsing: it drops scripts, styles,
    comments and inline tags and keeps block tags bare; those are then turned into spaces and
    entities decoded. About four times faster than ``html.parser`` on large newsletters.
    """
    if not markup:
        return ""
    cleaned = nh3.clean(
        markup,
        tags=set(_BLOCK_TAGS),
        attributes={},
        clean_content_tags=set(_INVISIBLE_TAGS),
        strip_comments=True,
        link_rel=None,
    )
    return html.unescape(_SANITIZED_TAG.sub(" ", cleaned))
