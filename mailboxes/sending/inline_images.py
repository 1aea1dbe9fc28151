"""Images pasted into the editor: ``data:`` URIs in the HTML become inline parts.

The editor keeps a pasted image in the HTML as ``<img src="data:image/png;base64,...">``.
Mail readers block or drop such images, and the sanitizer allows no ``data:`` links, so before
the body is sanitized each one becomes an attachment (``is_inline``, a fresh Content-ID) and
its ``src`` the matching ``cid:`` reference; ``message_build`` then puts it in a
multipart/related part beside the HTML. A draft opened again gets its images back as
``data:`` URIs (``inline_images_embed``), so the editor shows them and the next save makes
them parts again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets

from django.conf import settings
from django.core.files.storage import default_storage

from mailboxes.sending.compose import AttachmentPart

# the image types every mail reader shows inline
INLINE_IMAGE_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DATA_URI = re.compile(
    r"""(?P<head><img\b[^>]*?\bsrc\s*=\s*)(?P<quote>["']?)"""
    r"""data:(?P<type>image/[\w.+-]+);base64,(?P<data>[A-Za-z0-9+/=\s]+)(?P=quote)""",
    re.I,
)
_SRC_DATA = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["']?)data:[^"'\s>]*\2""", re.I)


def _content_id(domain: str) -> str:
    return f"{secrets.token_hex(12)}@{domain or 'postaci.invalid'}"


def inline_images_extract(html: str, *, domain: str = "") -> tuple[str, list[AttachmentPart]]:
    """``html`` with every ``data:`` image of a known type turned into ``cid:`` and the parts
    to attach; the same image twice is one part. Other ``data:`` images are dropped (the
    sanitizer would drop them anyway). Too large together: ``ValueError``."""
    parts: dict[str, AttachmentPart] = {}
    total = 0

    def replace(match: re.Match) -> str:
        nonlocal total
        content_type = match.group("type").lower()
        extension = INLINE_IMAGE_TYPES.get(content_type)
        if extension is None:
            return match.group("head") + '""'
        try:
            payload = base64.b64decode(re.sub(r"\s+", "", match.group("data")), validate=True)
        except (binascii.Error, ValueError):
            return match.group("head") + '""'
        digest = hashlib.sha256(payload).hexdigest()
        part = parts.get(digest)
        if part is None:
            total += len(payload)
            if total > settings.POSTACI_MAX_MESSAGE_SIZE:
                raise ValueError("inline images too large")
            part = AttachmentPart(
                filename=f"image-{len(parts) + 1}.{extension}",
                content_type=content_type,
                payload=payload,
                content_id=_content_id(domain),
                inline=True,
            )
            parts[digest] = part
        return f'{match.group("head")}"cid:{part.content_id}"'

    if "data:" not in (html or ""):
        return html or "", []
    html = _DATA_URI.sub(replace, html)
    html = _SRC_DATA.sub(r'\1""', html)  # what is left (not base64, not an image)
    return html, list(parts.values())


def inline_images_embed(html: str, attachments) -> str:
    """``html`` with ``cid:`` references to ``attachments`` (inline ones of a draft) as
    ``data:`` URIs again, for the editor."""
    for attachment in attachments:
        if not attachment.is_inline or not attachment.content_id:
            continue
        reference = f"cid:{attachment.content_id}"
        if reference not in html or attachment.content_type not in INLINE_IMAGE_TYPES:
            continue
        with default_storage.open(attachment.file.name, "rb") as handle:
            encoded = base64.b64encode(handle.read()).decode("ascii")
        html = html.replace(reference, f"data:{attachment.content_type};base64,{encoded}")
    return html
