"""Email signatures: which one an email gets, and putting it in the body once.

Two kinds: the user's own (``UserSignature``, edited in their preferences) and a group
account's (``GroupEmailAccount.signature_html``, edited in the account form).

Which one: sending from a personal account, the user's. Sending as a group address, the
group account's — the customer writes to the team, and the team's signature (its name, hours,
phone) is what they should see whoever answers; when the group account has none, the user's
own is used, so an agent's reply is never unsigned only because the group has no signature.

The signature sits in the HTML body as ``<div data-signature="1">…</div>`` above the quoted
text (the sanitizer keeps that one attribute); the editor replaces that block when the From
changes, so an email never carries two. Auto-replies get the group account's signature only
when the account says so (cases: ``GroupAccountCases.auto_reply_signature``).
"""

from __future__ import annotations

import re

from mailboxes.html_text import html_to_text
from mailboxes.models import GroupEmailAccount, UserSignature
from mailboxes.sending.compose import sanitize_html
from mailboxes.sending.permissions import SendingIdentity

SIGNATURE_ATTRIBUTE = "data-signature"
TEXT_DELIMITER = "-- \n"  # RFC 3676 §4.3: readers fold what follows
_NESTED_MARK = re.compile(r"\s*data-signature=(?:\"[^\"]*\"|'[^']*'|[^\s>]*)", re.I)
_MARK = re.compile(r"\s+data-signature=\"1\"")
_EMPTY_FIRST_LINE = re.compile(r"^\s*<p>\s*(?:<br\s*/?>)?\s*</p>", re.I)


def signature_clean(html: str) -> str:
    """A signature as it is stored: the email allow-list (nh3), no block marker of its own,
    nothing when it has no text and no image."""
    cleaned = _NESTED_MARK.sub("", sanitize_html(html or ""))
    if not html_to_text(cleaned).strip() and "<img" not in cleaned:
        return ""
    return cleaned


def user_signature(user) -> str:
    row = UserSignature.objects.filter(user_id=getattr(user, "pk", None)).first()
    return row.html if row is not None else ""


def signature_for(user, identity: SendingIdentity | None, *, own: str | None = None) -> str:
    """The signature of an email ``user`` sends as ``identity`` (sanitized HTML, may be "");
    ``own``: the user's signature when the caller has it already."""
    if identity is None:
        return ""
    own = user_signature(user) if own is None else own
    account = identity.account
    if isinstance(account, GroupEmailAccount) and account.signature_html.strip():
        return signature_clean(account.signature_html)
    return signature_clean(own)


def signatures_by_account(user, identities: list[SendingIdentity]) -> dict[str, str]:
    """``{account id: signature}`` for the compose form's From choices (the editor switches
    the signature with the From)."""
    own = user_signature(user)
    return {str(i.account_id): signature_for(user, i, own=own) for i in identities}


def signature_block(signature: str) -> str:
    return f'<div {SIGNATURE_ATTRIBUTE}="1">{signature}</div>' if signature else ""


def signature_insert(body_html: str, signature: str) -> str:
    """``body_html`` with ``signature`` above the quote: after the empty first line a reply
    or forward starts with (one is added to a new email, for typing). A body that has a
    signature block already is left as it is (never two)."""
    body_html = body_html or ""
    if not signature or SIGNATURE_ATTRIBUTE in body_html:
        return body_html
    first = _EMPTY_FIRST_LINE.match(body_html)
    head = first.group(0) if first else "<p><br></p>"
    rest = body_html[first.end() :] if first else body_html
    return head + signature_block(signature) + rest


def signature_marks_once(body_html: str) -> str:
    """Only the first signature block keeps its mark: the editor may split the block (Enter
    in it, a table inserted there) and the part after it is the writer's text, kept as it is."""
    seen = False

    def keep_first(match: re.Match) -> str:
        nonlocal seen
        if seen:
            return ""
        seen = True
        return match.group(0)

    return _MARK.sub(keep_first, body_html or "")


def signature_text(signature: str) -> str:
    """The text of a signature with its ``-- `` line ("" for none)."""
    text = html_to_text(signature).strip("\n")
    return TEXT_DELIMITER + text if text else ""


def signature_insert_text(body: str, signature: str) -> str:
    """The plain-text body (the form without JavaScript) with the signature above the quote."""
    text = signature_text(signature)
    if not text or text in (body or ""):
        return body or ""
    return "\n\n" + text + (body or "")
