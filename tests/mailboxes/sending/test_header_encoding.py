"""Subjects and display names survive the trip out and back: encoded and folded by
``header_encoding``, read by the stdlib's ``policy.default`` and by the intake parser."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest

from mailboxes.intake.parse import parse_message
from mailboxes.sending.compose import Mailbox, MessageSpec, message_build

SUBJECTS = [
    "Re: [#12] Sözleşme ektedir",
    "Re: Sipariş 4411 hakkında [#2]: Fatura hatası: KDV yanlış",
    # the stdlib's folder put these words in adjacent encoded words and lost the spaces
    '"tırnak" hatası: ğüşıöç Sözleşme Sözleşme Sözleşme (parantez) Sözleşme',
    "a xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx KDV hatası: İstanbul, ğüşıöç",
    "Sözleşme çok [#2]: çok hatası: ümit yanlış a önemli Fatura yanlış yanlış çok İstanbul, yanlış",
    "Teşekkürler 😀 🎉 — görüşmek üzere",
    "お問い合わせありがとうございます 注文番号 4411",
    "Looks like =?utf-8?q?an_encoded_word?= but is text",
    "x" * 100 + " ş",
    "Plain ASCII subject that is long enough to need folding over more than one line, "
    "with words all the way to the end of it",
    "ş",
]

NAMES = [
    "Ayşe Yılmaz",
    "Müşteri Hizmetleri",
    "Yılmaz, Ayşe",
    "Smith, John",
    'O"Brien \\ Co',
    "[#2]: bb Re: hatası: ektedir [#2]: Sözleşme",
    "ğüşıöç " * 12,
    "Plain Name",
]


def _build(subject: str, names: list[str]) -> bytes:
    return message_build(
        MessageSpec(
            message_id="<out@postaci.local>",
            sender=Mailbox("support@example.com", names[0]),
            date=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            to=[Mailbox(f"to{i}@example.com", name) for i, name in enumerate(names)],
            cc=[Mailbox("cc@example.com", names[-1])],
            reply_to=[Mailbox("reply@example.com", names[0])],
            subject=subject,
            body_text="Merhaba",
        )
    )


def _header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_arrives_as_it_was_written(subject):
    raw = _build(subject, ["Ayşe Yılmaz"])
    stdlib = email.message_from_bytes(raw, policy=policy.default)
    assert str(stdlib["subject"]) == subject
    assert parse_message(raw).subject == subject
    assert all(len(line) <= 78 and line.isascii() for line in _header_lines(raw))


def test_display_names_arrive_as_they_were_written():
    raw = _build("Names", NAMES)
    parsed = parse_message(raw)
    expected = [" ".join(name.split()) for name in NAMES]
    assert [m.name for m in parsed.to] == expected
    assert parsed.sender.name == parsed.reply_to[0].name == expected[0]
    assert parsed.cc[0].name == expected[-1]
    assert [m.address for m in parsed.to] == [f"to{i}@example.com" for i in range(len(NAMES))]
    assert all(len(line) <= 78 and line.isascii() for line in _header_lines(raw))
    # names in one encoded word read the same with the stdlib's address parser (it keeps the
    # space between two encoded words of a display name: CPython gh-128110)
    stdlib = email.message_from_bytes(raw, policy=policy.default)
    assert [a.display_name for a in stdlib["To"].addresses][:5] == expected[:5]


def test_plain_ascii_words_stay_readable_before_the_first_encoded_one():
    raw = _build("Re: [#12] Sözleşme ektedir", ["Plain Name", "Smith, John"])
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "Subject: Re: [#12] =?utf-8?q?S=C3=B6zle=C5=9Fme_ektedir?=" in headers
    assert 'To: Plain Name <to0@example.com>, "Smith, John" <to1@example.com>' in headers


def test_international_domain_is_sent_in_its_ascii_form():
    raw = message_build(
        MessageSpec(
            message_id="<idn@postaci.local>",
            sender=Mailbox("support@example.com"),
            date=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            to=[Mailbox("ayse@örnek.com.tr", "Ayşe")],
            subject="x",
            body_text="x",
        )
    )
    assert [m.address for m in parse_message(raw).to] == ["ayse@xn--rnek-4qa.com.tr"]
