"""HTML as plain text, by one maintained converter (inscriptis, which lays HTML out as a
browser's text view would: CSS display rules over an lxml tree).

Two readings of it: ``html_to_text`` is the text/plain alternative of an HTML email and the
text shown in streams (blank lines and line breaks as written, "* " list items, links as
"[text](url)", quotes "> "); ``html_visible_text`` is only the words a reader sees, for
matching (filters). Hand-written converters lost the empty lines of ``<div><br></div>``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inscriptis.model.config import ParserConfig

# lxml and inscriptis are imported on the first conversion, not with this module: a fetch
# imports it (through filters and sending) and may never convert any HTML.

_QUOTE = "quote"
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*\?>", re.IGNORECASE)


@cache
def _configs() -> tuple[ParserConfig, ParserConfig]:
    """The converter's settings: the text view (links, quotes) and the words alone."""
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    layout = ParserConfig(
        css=CSS_PROFILES["strict"], display_links=True, annotation_rules={"blockquote": [_QUOTE]}
    )
    return layout, ParserConfig(css=CSS_PROFILES["strict"])


def _tree(html: str):
    """The lxml tree of ``html``, or None when there is nothing to read."""
    import lxml.html
    from lxml.etree import ParserError

    html = _XML_DECLARATION.sub("", (html or "").strip(), count=1).strip()
    if not html:
        return None
    try:
        return lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return None


def html_to_text(html: str) -> str:
    """The text/plain version of an HTML body, ending in one newline ("" for no text)."""
    tree = _tree(html)
    if tree is None:
        return ""
    for link in tree.iter("a"):
        href = (link.get("href") or "").strip()
        label = " ".join(link.text_content().split())
        if not href.startswith(("http:", "https:", "mailto:")) or href.removeprefix(
            "mailto:"
        ) == label.removeprefix("mailto:"):
            link.attrib.pop("href", None)  # a link that shows its own address says it once
    from inscriptis import Inscriptis

    converter = Inscriptis(tree, _configs()[0])
    text = converter.get_text()
    quotes = [(a.start, a.end) for a in converter.get_annotations() if a.metadata == _QUOTE]
    lines: list[str] = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        depth = sum(
            1 for q_start, q_end in quotes if q_start < max(end, start + 1) and start < q_end
        )
        lines.append((("> " * depth) + line).rstrip())
        start = end + 1
    return "\n".join(lines).strip("\n") + "\n" if any(lines) else ""


def html_visible_text(html: str) -> str:
    """The words a reader sees in ``html``, blocks and cells apart, no markup, no link
    targets, nothing of scripts, styles or the document head."""
    from inscriptis import Inscriptis

    tree = _tree(html)
    return Inscriptis(tree, _configs()[1]).get_text() if tree is not None else ""
