"""Turning an email's HTML into something safe to show, and the policy of the page showing it.

Three layers keep the HTML of an email from running anything in the application's origin:

1. :func:`sanitize_email_html` — nh3 with a strict allow-list: no script, style, forms,
   frames, SVG, MathML, ``<base>`` or ``<meta>``; no event handlers; links only to http(s),
   mailto and tel; inline styles only with harmless properties and values (no ``url()``,
   ``expression()``, escapes). Remote images are dropped unless the user asked for them;
   ``cid:`` images point at a permission-checked attachment URL.
2. The sanitized document is served by its own view with :func:`email_body_csp`: nothing may
   load but images (and the document is sandboxed by the header itself).
3. The page embeds it in ``<iframe sandbox>`` without ``allow-scripts`` or
   ``allow-same-origin``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big",
    "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "main",
    "mark", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "tt", "u", "ul", "var", "wbr",
}  # fmt: skip
# Dropped with everything inside them (the rest of unknown tags keep their text).
REMOVED_WITH_CONTENT = {
    "script", "style", "title", "head", "svg", "math", "iframe", "frame", "frameset",
    "object", "embed", "applet", "noscript", "template", "textarea", "select", "button",
    "form", "xml",
}  # fmt: skip
_COMMON_ATTRIBUTES = {"style", "dir", "lang", "title", "align", "valign", "width", "height"}
ALLOWED_ATTRIBUTES = {
    "*": _COMMON_ATTRIBUTES,
    "a": {"href", "name"},
    "img": {"src", "alt", "border", "hspace", "vspace"},
    "table": {"border", "cellpadding", "cellspacing", "bgcolor", "summary"},
    "td": {"colspan", "rowspan", "bgcolor", "nowrap", "headers"},
    "th": {"colspan", "rowspan", "bgcolor", "nowrap", "scope", "headers"},
    "tr": {"bgcolor"},
    "tbody": {"bgcolor"},
    "col": {"span"},
    "colgroup": {"span"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "hr": {"size", "noshade"},
    "bdo": {"dir"},
}
ALLOWED_STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "font-variant", "line-height", "letter-spacing", "word-spacing",
    "text-align", "text-decoration", "text-transform", "text-indent", "vertical-align",
    "white-space", "word-break", "word-wrap", "overflow-wrap", "direction",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
    "border-top-color", "border-bottom-color", "border-left-color", "border-right-color",
    "border-top-width", "border-bottom-width", "border-left-width", "border-right-width",
    "border-top-style", "border-bottom-style", "border-left-style", "border-right-style",
    "width", "min-width", "max-width", "height", "min-height", "max-height", "display",
    "list-style-type", "table-layout", "text-overflow", "overflow", "float", "clear",
}  # fmt: skip
LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
# Raster image types a data: URL may carry (never SVG: it can hold script).
DATA_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp|bmp);base64,[a-z0-9+/=\s]+$", re.I)
# Anything in a style value that can fetch, script or hide what it does.
DANGEROUS_CSS = re.compile(
    r"url\s*\(|expression|javascript|vbscript|behavio(u)?r|binding|@import|\\|<|&#|/\*", re.I
)


@dataclass
class SanitizedHtml:
    html: str
    blocked_images: int = 0  # remote images left out (the "Show images" offer)
    remote_images: int = 0  # remote images in the email, shown or not


def _clean_style(value: str) -> str | None:
    kept = [
        declaration.strip()
        for declaration in value.split(";")
        if declaration.strip() and not DANGEROUS_CSS.search(declaration)
    ]
    return "; ".join(kept) or None


def sanitize_email_html(
    html: str,
    *,
    show_remote_images: bool = False,
    cid_url: Callable[[str], str | None] | None = None,
) -> SanitizedHtml:
    """Sanitize an email's HTML for display inside the sandboxed body document.

    ``cid_url(content_id)`` returns the URL of an inline image (or ``None`` to drop it).
    """
    result = SanitizedHtml(html="")

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        value = value.strip()
        if attribute == "style":
            return _clean_style(value)
        if tag == "img" and attribute == "src":
            lowered = value.lower()
            if lowered.startswith("cid:"):
                return cid_url(value[4:].strip("<> ")) if cid_url else None
            if lowered.startswith("data:"):
                return value if DATA_IMAGE.match(value) else None
            if lowered.startswith(("http:", "https:", "//")):
                result.remote_images += 1
                if show_remote_images and not lowered.startswith("//"):
                    return value
                result.blocked_images += 1
                return None
            return None
        if attribute in ("href", "cite"):
            return value if value.lower().startswith(LINK_SCHEMES) else None
        return value

    result.html = nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        url_relative="deny",
        filter_style_properties=ALLOWED_STYLE_PROPERTIES,
    )
    return result


def email_body_csp(*, image_origins: list[str], show_remote_images: bool) -> str:
    """The Content-Security-Policy of the body document: images only, and sandboxed even if
    someone opens the document outside its iframe."""
    images = ["data:", *image_origins]
    if show_remote_images:
        images += ["https:", "http:"]
    return "; ".join(
        [
            "default-src 'none'",
            f"img-src {' '.join(images)}",
            "style-src 'unsafe-inline'",
            "font-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
            "sandbox allow-popups allow-popups-to-escape-sandbox",
        ]
    )


# The iframe's sandbox: links may open in a new tab (outside the sandbox); nothing else.
IFRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
