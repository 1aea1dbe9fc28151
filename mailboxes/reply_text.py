"""The part of an email its sender wrote, without the quoted history below it."""

from __future__ import annotations

from functools import cache


@cache
def _parser():
    from mailparser_reply import EmailReplyParser
    from mailparser_reply.constants import MAIL_LANGUAGES

    return EmailReplyParser(languages=[code for code in MAIL_LANGUAGES if len(code) == 2])


def _strip_quote_tail(text: str) -> str:
    """Drop trailing ``>`` lines and the "On … wrote:" line above them (any language).

    mail-parser-reply knows the headers of thirteen languages but not, say, Turkish ("…
    tarihinde şunu yazdı:"); the quoted lines themselves look alike everywhere.
    """
    lines = text.rstrip().split("\n")
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end == len(lines):
        return text
    if (
        end >= 1
        and lines[end - 1].rstrip().endswith(":")
        and (end < 2 or not lines[end - 2].strip())
    ):
        end -= 1
    return "\n".join(lines[:end])


def visible_reply_text(body: str) -> str:
    """The text the sender wrote, without quoted history and signature; whitespace-only → ""."""
    if not body or not body.strip():
        return ""
    try:
        text = _parser().parse_reply(text=body)
    except Exception:  # a parser failure must not lose the text
        text = body
    text = _strip_quote_tail(text or body).strip()
    return text or body.strip()
