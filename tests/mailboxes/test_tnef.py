"""winmail.dat (TNEF): its files become attachments, its body is used when there is no
other, a broken one stays just the attachment and flags the email; through the parser and
through the real intake (Dovecot)."""

from __future__ import annotations

import pytest

from mailboxes.intake.fetch import fetch_account
from mailboxes.intake.parse import parse_message
from mailboxes.models import Attachment, Email
from tests.mailboxes.conftest import make_message
from tests.mailboxes.tnef_builder import build_tnef
from tests.shared import CORPUS

PDF = b"%PDF-1.4 teklif"
FILES = [("Teklif Şubat 2026.pdf", PDF), ("notlar.txt", b"ilk satir\r\n")]
# Outlook's RTF of an HTML message (MS-OXRTFEX): the HTML is in \htmltag groups, the RTF-only
# text between \htmlrtf and \htmlrtf0
ENCAPSULATED_HTML = (
    rb"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}"
    rb"{\*\htmltag64 <html>}{\*\htmltag241 <body>}\htmlrtf {\htmlrtf0 Fiyat "
    rb"{\*\htmltag84 <b>}teklifimiz{\*\htmltag92 </b>} ektedir."
    rb"{\*\htmltag84 <script>}alert(1){\*\htmltag92 </script>}\htmlrtf }\htmlrtf0 "
    rb"{\*\htmltag249 </body>}{\*\htmltag72 </html>}}"
)
PLAIN_RTF = (
    rb"{\rtf1\ansi\ansicpg1254{\fonttbl\f0 Arial;}\f0 Merhaba, teklif \'fe\'fd ektedir."
    rb"\par Saygilar}"
)


def _message(
    tnef: bytes,
    *,
    body: str = "",
    content_type: str = "application/ms-tnef",
    filename: str = "winmail.dat",
    subject: str = "Teklif",
) -> bytes:
    raw = make_message(subject=subject, body=body, attachments=[(filename, content_type, tnef)])
    return raw


def test_tnef_files_become_attachments_that_name_the_winmail_dat():
    parsed = parse_message(_message(build_tnef(FILES), body="Ekte teklifimiz var."))

    names = [(a.filename, a.content_type, a.parent) for a in parsed.attachments]
    assert names == [
        ("winmail.dat", "application/ms-tnef", None),
        ("Teklif Şubat 2026.pdf", "application/pdf", 0),
        ("notlar.txt", "text/plain", 0),
    ]
    assert parsed.attachments[1].payload == PDF
    assert parsed.body_text.strip() == "Ekte teklifimiz var."  # the message's own body stays
    assert not parsed.is_malformed


@pytest.mark.parametrize(
    ("content_type", "filename", "unpacked"),
    [
        ("application/vnd.ms-tnef", "winmail.dat", True),
        ("application/octet-stream", "winmail.dat", True),
        ("application/octet-stream", "WIN.DAT", True),
        ("application/octet-stream", "archive.dat", False),
        ("application/pdf", "winmail.dat", False),
    ],
)
def test_tnef_is_known_by_its_type_or_by_outlooks_file_name(content_type, filename, unpacked):
    parsed = parse_message(
        _message(build_tnef(FILES), body="x", content_type=content_type, filename=filename)
    )
    assert (len(parsed.attachments) == 3) is unpacked


def test_tnef_html_body_is_the_body_when_the_message_has_none():
    tnef = build_tnef(FILES, body_html="<p>Merhaba <b>dünya</b></p>")
    parsed = parse_message(_message(tnef))
    assert parsed.body_html == "<p>Merhaba <b>dünya</b></p>"


def test_tnef_rtf_with_encapsulated_html_is_de_encapsulated():
    parsed = parse_message(_message(build_tnef(FILES, rtf=ENCAPSULATED_HTML)))
    assert "<b>teklifimiz</b>" in parsed.body_html
    assert parsed.body_html.startswith("<html><body>Fiyat")
    assert not parsed.body_text


def test_tnef_plain_rtf_becomes_text_in_its_code_page():
    parsed = parse_message(_message(build_tnef(FILES, rtf=PLAIN_RTF)))
    assert parsed.body_text == "Merhaba, teklif şı ektedir.\nSaygilar"
    assert not parsed.body_html


def test_tnef_text_body_is_used_before_the_rtf():
    parsed = parse_message(_message(build_tnef([], body_text="Düz metin", rtf=PLAIN_RTF)))
    assert parsed.body_text == "Düz metin"


def test_broken_tnef_stays_the_attachment_and_is_a_defect():
    parsed = parse_message(_message(b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90garbage"))
    assert [a.filename for a in parsed.attachments] == ["winmail.dat"]
    assert parsed.is_malformed and "unreadable TNEF attachment" in parsed.defects

    parsed = parse_message(_message(b"not a tnef at all"))
    assert [a.filename for a in parsed.attachments] == ["winmail.dat"]
    assert "unreadable TNEF attachment" in parsed.defects


def test_tnef_with_a_wrong_checksum_or_cut_off_is_unpacked_as_far_as_it_goes_and_flagged():
    parsed = parse_message(_message(build_tnef(FILES, bad_checksum=True)))
    assert len(parsed.attachments) == 3
    assert parsed.defects == ["damaged TNEF attachment"]

    cut = build_tnef(FILES)
    cut = cut[: cut.rindex(b"notlar.txt") - 20]  # in the middle of the second file
    parsed = parse_message(_message(cut))
    assert [a.filename for a in parsed.attachments][:2] == ["winmail.dat", "Teklif Şubat 2026.pdf"]
    assert parsed.defects == ["damaged TNEF attachment"]


def test_tnef_file_names_lose_line_breaks_and_directories():
    parsed = parse_message(_message(build_tnef([("..\\evil\r\nSet-Cookie: x.exe", b"MZ")])))
    assert parsed.attachments[1].filename == "evil Set-Cookie: x.exe"


def test_real_winmail_dat_files_of_the_corpus_are_read_without_a_defect():
    # Amazon WorkMail bounces carry a winmail.dat of MAPI properties only: no file, no body
    files = sorted((CORPUS / "sisimai/bsd").glob("lhost-amazonworkmail-*.eml"))
    with_tnef = 0
    for path in files:
        parsed = parse_message(path.read_bytes())
        tnef = [a for a in parsed.attachments if a.filename == "winmail.dat"]
        with_tnef += len(tnef)
        assert not any("TNEF" in defect for defect in parsed.defects), path.name
        assert all(a.parent is None for a in parsed.attachments), path.name
        assert parsed.body_text.startswith("An error occurred") or not tnef, path.name
    assert with_tnef == 7


def test_a_message_that_is_only_a_tnef_part_is_unpacked():
    tnef = build_tnef(FILES, body_text="Sadece winmail")
    raw = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: tek\r\n"
        b"Message-ID: <tnef-only@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ) + __import__("base64").encodebytes(tnef).replace(b"\n", b"\r\n")
    parsed = parse_message(raw)
    assert [a.parent for a in parsed.attachments] == [None, 0, 0]
    assert parsed.body_text == "Sadece winmail"


@pytest.mark.django_db(transaction=True)
def test_winmail_dat_through_the_intake_stores_its_files_as_attachments(
    dovecot, imap_user, make_group_account
):
    dovecot.append(imap_user, "INBOX", _message(build_tnef(FILES, rtf=ENCAPSULATED_HTML)))
    dovecot.append(imap_user, "INBOX", _message(b"\x78\x9f\x3e\x22broken", subject="Bozuk"))
    dovecot.append(imap_user, "INBOX", make_message(subject="Sıradan"))
    summary = fetch_account(make_group_account(imap_user).pk)

    assert summary.imported == 3 and not summary.quarantined
    email = Email.objects.get(subject="Teklif")
    winmail, pdf, notes = email.attachments.order_by("pk")
    assert (winmail.filename, winmail.parent_id) == ("winmail.dat", None)
    assert [(a.filename, a.parent_id) for a in (pdf, notes)] == [
        ("Teklif Şubat 2026.pdf", winmail.pk),
        ("notlar.txt", winmail.pk),
    ]
    with pdf.file.open("rb") as handle:
        assert handle.read() == PDF
    assert "<b>teklifimiz</b>" in email.body_html and email.has_attachments
    assert not email.is_malformed

    broken = Email.objects.get(subject="Bozuk")
    assert broken.is_malformed and "unreadable TNEF attachment" in broken.parse_defects
    assert [a.filename for a in broken.attachments.all()] == ["winmail.dat"]
    assert Attachment.objects.filter(parent__isnull=False).count() == 2
