"""Header decoding (RFC 5322 unfolding, then RFC 2047 encoded words) against the stdlib's
``policy.default``, on a table of cases in every field that carries text, and on the corpus.

``policy.default`` is the reference for the RFC 2047 rules: whitespace between two encoded
words is dropped, whitespace between an encoded word and plain text is kept. Its *address*
parser keeps the whitespace between two encoded words of a display name (CPython
gh-128110, as on Python 3.11), so the reference for a display name is its reading of the same
text as an unstructured header.
"""

from __future__ import annotations

import email
from email import policy

import pytest

from mailboxes.intake.parse import parse_message
from tests.shared import CORPUS

# (header text as it arrives, folds included; what a person must read)
CASES = {
    "encoded+encoded": (
        "=?utf-8?q?Fatura_hatas=C4=B1?= =?utf-8?q?_KDV_yanl=C4=B1=C5=9F?=",
        "Fatura hatası KDV yanlış",
    ),
    "encoded+plain": ("=?utf-8?q?S=C3=B6zle=C5=9Fme?= ektedir", "Sözleşme ektedir"),
    "plain+encoded+plain": ("Fatura =?utf-8?q?hatas=C4=B1?= KDV", "Fatura hatası KDV"),
    "folded encoded+plain": ("=?utf-8?q?S=C3=B6zle=C5=9Fme?=\r\n ektedir", "Sözleşme ektedir"),
    "folded plain+encoded": ("Fatura\r\n =?utf-8?q?hatas=C4=B1?= KDV", "Fatura hatası KDV"),
    "folded encoded+encoded": (
        "=?utf-8?q?Fatura_hatas=C4=B1?=\r\n =?utf-8?q?_KDV?=",
        "Fatura hatası KDV",
    ),
    "folded with a tab": ("=?utf-8?q?S=C3=B6zle=C5=9Fme?=\r\n\tektedir", "Sözleşme ektedir"),
    "encoded+encoded folded with a tab": (
        "=?utf-8?b?xJ/DvMWf?=\r\n\t=?utf-8?b?xLHDtsOn?=",
        "ğüşıöç",
    ),
    "several charsets": (
        "=?iso-8859-9?q?=DE=FCkr=FC?= =?windows-1254?q?_=DDnce?= ve =?koi8-r?b?8NLJ18XU?=",
        "Şükrü İnce ve Привет",
    ),
    "upper-case encoding and charset": (
        "Order =?UTF-8?Q?=C3=B6deme?= received",
        "Order ödeme received",
    ),
    "language suffix": ("=?utf-8*tr?q?=C3=B6deme?= bekleniyor", "ödeme bekleniyor"),
    "runs of whitespace": ("Fatura  \t =?utf-8?q?hatas=C4=B1?=", "Fatura hatası"),
}

# Subjects as mailers fold them (the first two as Python's own email package does)
SUBJECTS = {
    "stdlib fold after an encoded word": (
        "=?utf-8?b?U8O2emxlxZ9tZSBla3RlZGlyLCBpbXphbGF5xLFwIGdlcmkgZ8O2?=\r\n"
        " =?utf-8?q?nderebilir_misiniz=3F_Te=C5=9Fekk=C3=BCrler_S=C3=B6zle=C5=9Fme?=\r\n"
        " ektedir",
        "Sözleşme ektedir, imzalayıp geri gönderebilir misiniz? Teşekkürler Sözleşme ektedir",
    ),
    "stdlib fold between encoded words": (
        "Re: =?utf-8?q?Sipari=C5=9F_4411_hakk=C4=B1nda_=5B=232=5D=3A_Fatura_?=\r\n"
        " =?utf-8?b?aGF0YXPEsTogS0RWIHlhbmzEscWf?=",
        "Re: Sipariş 4411 hakkında [#2]: Fatura hatası: KDV yanlış",
    ),
    "fold after an encoded word ending in a colon": (
        "Re: [#2]: Fatura =?utf-8?q?hatas=C4=B1:?=\r\n KDV =?utf-8?q?yanl=C4=B1=C5=9F?=",
        "Re: [#2]: Fatura hatası: KDV yanlış",
    ),
}


def _message(text: str) -> bytes:
    """One message with ``text`` in From, To and Cc display names, Subject and a file name."""
    return (
        f"From: {text} <from@example.com>\r\n"
        f"To: {text} <to@example.com>, other@example.com\r\n"
        f"Cc: {text} <cc@example.com>\r\n"
        f"Subject: {text}\r\n"
        "Message-ID: <table@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment;\r\n filename="{text}.pdf"\r\n\r\n%PDF\r\n--b--\r\n'
    ).encode("ascii")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _stdlib_unstructured(text: str) -> str:
    return _one_line(policy.default.header_fetch_parse("Subject", text))


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_encoded_words_in_every_text_field_read_as_the_stdlib_reads_them(text, expected):
    raw = _message(text)
    ours = parse_message(raw)
    stdlib = email.message_from_bytes(raw, policy=policy.default)
    [attachment] = ours.attachments
    [stdlib_attachment] = stdlib.iter_attachments()

    assert _stdlib_unstructured(text) == expected
    assert _one_line(stdlib["subject"]) == expected
    assert _one_line(stdlib_attachment.get_filename()) == f"{expected}.pdf"
    assert ours.subject == expected
    assert (ours.sender.name, ours.to[0].name, ours.cc[0].name) == (expected,) * 3
    assert attachment.filename == f"{expected}.pdf"
    assert not ours.is_malformed


@pytest.mark.parametrize(("text", "expected"), SUBJECTS.values(), ids=SUBJECTS.keys())
def test_folded_subject_keeps_its_spaces(text, expected):
    raw = f"From: a@example.com\r\nSubject: {text}\r\nMessage-ID: <s@x>\r\n\r\nbody\r\n"
    assert _one_line(email.message_from_string(raw, policy=policy.default)["subject"]) == expected
    assert parse_message(raw.encode("ascii")).subject == expected


def test_quotes_inside_an_encoded_display_name_are_kept():
    raw = (
        b'From: "=?utf-8?q?=22Tam=C4=B1r_At=C3=B6lyesi=22_Ltd?=" <a@example.com>\r\n'
        b"To: 'Destek' <b@example.com>\r\nMessage-ID: <q@x>\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.sender.name == '"Tamır Atölyesi" Ltd'
    assert parsed.to[0].name == "Destek"


# The stdlib decodes each encoded word on its own, so a character split across two words (a
# stateful ISO-2022-JP sequence here) comes out as mojibake; this reader joins the bytes of
# adjacent words in one charset first and reads what the sender wrote.
CORPUS_BETTER_THAN_STDLIB = {
    "lhost-exchange2007-04.eml": {"subject": "Undeliverable: キジトラ・フラッシュ/ニャーン"},
}


def _stdlib_leaves(message):
    """Leaf parts as the parser lists attachments: an attached message is one leaf."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            yield from _stdlib_leaves(part)
    else:
        yield message


@pytest.mark.parametrize(
    "path", sorted(CORPUS.rglob("*.eml")), ids=lambda p: str(p.relative_to(CORPUS))
)
def test_corpus_headers_read_as_the_stdlib_reads_them(path):
    raw = path.read_bytes()
    ours = parse_message(raw)
    stdlib = email.message_from_bytes(raw, policy=policy.default)
    expected = CORPUS_BETTER_THAN_STDLIB.get(path.name, {})

    subject = _one_line(stdlib["subject"] or "")[:998] or "(no subject)"
    assert ours.subject == expected.get("subject", subject)

    for name, addresses in (
        ("from", [ours.sender] if ours.sender else []),
        ("to", ours.to),
        ("cc", ours.cc),
    ):
        header = stdlib[name]
        names = {
            mailbox.addr_spec.lower(): _one_line(mailbox.display_name)
            for group in (header.groups if header is not None else ())
            for mailbox in group.addresses
        }
        for address in addresses:
            # a name the stdlib does not read (the old "a@b (Name)" comment form) is not compared
            if names.get(address.address):
                assert address.name == names[address.address][:255], name

    stdlib_names = [
        _one_line(part.get_filename())
        for part in _stdlib_leaves(stdlib)
        if part.get_filename() and part.get_content_type() != "message/rfc822"
    ]
    our_names = [a.filename for a in ours.attachments if a.content_type != "message/rfc822"]
    for filename in stdlib_names:
        assert filename[:255] in our_names
