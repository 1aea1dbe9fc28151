"""The parser: decoding, fallbacks, fingerprints and MIME structure, never raising."""

import pytest

from mailboxes.intake.parse import ParsedAddress, parse_message
from tests.mailboxes.conftest import make_message
from tests.shared import CORPUS


def _msg(headers: str, body: bytes = b"Hello\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


def test_rfc2047_subject_and_names_in_turkish_charsets_are_decoded():
    raw = _msg(
        "From: =?iso-8859-9?q?=DE=FCkr=FC_=DDnce?= <SUKRU@Example.COM>\n"
        "To: =?windows-1254?b?wn7+?= <destek@example.com>, b@example.com\n"
        "Subject: =?utf-8?q?=C4=B0ADE_TALEB=C4=B0?= =?iso-8859-9?q?_=F0=FE?=\n"
        "Message-ID: <a1@example.com>\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "İADE TALEBİ ğş"
    assert parsed.sender.address == "sukru@example.com"
    assert parsed.sender.name == "Şükrü İnce"
    assert [p.address for p in parsed.to] == ["destek@example.com", "b@example.com"]
    assert not parsed.is_malformed


@pytest.mark.parametrize("charset", ["iso-8859-9", "windows-1254", "utf-8"])
def test_body_in_turkish_charsets_is_decoded(charset):
    text = "Sipariş iptal edildi: ığüşöçİĞÜŞÖÇ"
    raw = _msg(
        f"From: a@example.com\nMessage-ID: <c@x>\nContent-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 8bit\n",
        text.encode(charset),
    )
    assert parse_message(raw).body_text == text


def test_raw_utf8_bytes_in_headers_are_read_as_utf8():
    raw = (
        "From: Ayşe Yılmaz <ayse@example.com>\r\nTo: Destek <destek@example.com>\r\n"
        "Subject: Sipariş iptali\r\nMessage-ID: <raw8@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        'Content-Disposition: inline; filename="ş.txt"\r\n'
        "\r\nGövde\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.sender == ParsedAddress("ayse@example.com", "Ayşe Yılmaz")
    assert parsed.subject == "Sipariş iptali"
    assert parsed.to[0].name == "Destek"


def test_unknown_or_lying_charset_falls_back_without_raising():
    raw = _msg(
        "From: a@example.com\nMessage-ID: <d@x>\nContent-Type: text/plain; charset=x-klingon\n",
        "Günaydın".encode("windows-1254"),
    )
    parsed = parse_message(raw)
    assert "G" in parsed.body_text and "nayd" in parsed.body_text
    raw = _msg(
        "From: a@example.com\nMessage-ID: <e@x>\nContent-Type: text/plain; charset=utf-8\n",
        "Günaydın".encode("windows-1254"),
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "Günaydın"
    assert parsed.is_malformed


def test_rfc2231_attachment_filename_is_decoded():
    raw = _msg(
        "From: a@example.com\nMessage-ID: <f@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''%C3%96deme%20belgesi.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n",
    )
    parsed = parse_message(raw)
    assert parsed.body_text.strip() == "see attached"
    [attachment] = parsed.attachments
    assert attachment.filename == "Ödeme belgesi.pdf"
    assert attachment.payload == b"%PDF-1.4\n"


def test_missing_headers_get_sensible_values():
    parsed = parse_message(b"\r\njust a body\r\n")
    assert parsed.subject == "(no subject)"
    assert parsed.sender is None
    assert parsed.message_id_is_fingerprint
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith("@fingerprint.postaci>")
    assert parsed.date is None


def test_fingerprint_is_the_same_for_one_message_in_two_mailboxes():
    body = (
        "From: a@example.com\nTo: b@example.com\nSubject: no id\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0000\n"
    )
    first = parse_message(_msg("Received: from one\nDelivered-To: x@example.com\n" + body))
    second = parse_message(_msg("Received: from two\nDelivered-To: y@example.com\n" + body))
    other = parse_message(_msg(body.replace("no id", "other")))
    assert first.message_id == second.message_id != other.message_id


def test_references_and_in_reply_to_are_normalized():
    parsed = parse_message(
        _msg(
            "From: a@example.com\nMessage-ID: noangle@x\nIn-Reply-To: <p2@x> (comment)\n"
            "References: <p1@x>\n <p2@x>\n"
        )
    )
    assert parsed.message_id == "<noangle@x>"
    assert parsed.in_reply_to == "<p2@x>"
    assert parsed.references == ["<p1@x>", "<p2@x>"]


def test_inline_image_and_html_alternative():
    raw = _msg(
        "From: a@example.com\nMessage-ID: <g@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/related; boundary="r"\n',
        b'--r\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
        b"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p>html <img src="cid:logo@x"></p>\r\n'
        b"--a--\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n",
    )
    parsed = parse_message(raw)
    assert parsed.body_text.strip() == "plain"
    assert 'src="cid:logo@x"' in parsed.body_html
    [image] = parsed.attachments
    assert image.is_inline and image.content_id == "logo@x"


def test_attached_message_is_one_attachment_not_part_of_the_body():
    raw = (CORPUS / "sisimai/not/is-not-bounce-02.eml").read_bytes()
    parsed = parse_message(raw)
    assert "message/rfc822" in [a.content_type for a in parsed.attachments]
    assert not parsed.is_malformed


def test_headers_only_parse_keeps_headers_and_no_body():
    raw = _msg("From: a@example.com\nSubject: big\nMessage-ID: <h@x>\n", b"x" * 1000)
    header_block = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    parsed = parse_message(header_block, headers_only=True)
    assert parsed.subject == "big" and parsed.headers_only and parsed.body_text == ""


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CORPUS.rglob("*.eml")),
    ids=lambda p: str(p.relative_to(CORPUS)),
)
def test_every_corpus_file_parses_in_lf_and_crlf_without_raising(path):
    raw = path.read_bytes()
    lf = raw.replace(b"\r\n", b"\n")
    for variant in (lf, lf.replace(b"\n", b"\r\n")):
        parsed = parse_message(variant)
        assert parsed.message_id.startswith("<")
        assert parsed.subject


def test_malformed_corpus_files_are_flagged():
    flagged = [
        p.name
        for p in sorted((CORPUS / "stalwart/malformed").glob("*.eml"))
        if parse_message(p.read_bytes()).is_malformed
    ]
    # 015 is a well-formed multipart/signed with a bogus signature body: nothing to flag.
    assert len(flagged) == 22 and "015.eml" not in flagged


def test_single_part_fast_path_agrees_with_the_full_mime_walk(monkeypatch):
    from mailboxes.intake import parse

    samples = [p.read_bytes() for p in sorted(CORPUS.rglob("*.eml"))]
    samples.append(_msg("From: a@example.com\nMessage-ID: <q@x>\n", "Gövde".encode()))
    fast = [parse.parse_message(raw) for raw in samples]
    monkeypatch.setattr(parse, "_simple_body_type", lambda collected: None)
    assert fast == [parse.parse_message(raw) for raw in samples]


@pytest.mark.parametrize("path", sorted(CORPUS.rglob("*.eml")), ids=lambda p: p.name)
def test_header_shortcut_reads_what_the_stdlib_header_parser_reads(path):
    from mailboxes.intake.parse import _PARSER, _parse_headers

    raw = path.read_bytes()
    for variant in (
        raw.replace(b"\r\n", b"\n"),
        raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
    ):
        ours, stdlib = _parse_headers(variant), _PARSER.parsebytes(variant, headersonly=True)
        assert list(ours.raw_items()) == list(stdlib.raw_items())
        assert ours.get_payload() == stdlib.get_payload()
        assert [type(d) for d in ours.defects] == [type(d) for d in stdlib.defects]


# The parse shortcuts (a MIME tree cut at its delimiter lines, header blocks and Content-Type
# read without the stdlib's line parser) must give exactly what the stdlib gives. These tests
# hold them to it on the real-world corpus, on the generated support corpus the intake bench
# uses, and on hand-made edge cases.

_HANDLED_CASES = [
    # preamble, epilogue, blanks after a delimiter, a line that only starts like one
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b \t\r\n"
    b"Content-Type: text/plain\r\n\r\none\r\n--bb not a delimiter\r\n--b\r\n\r\ntwo\r\n"
    b"--b--\r\nepilogue\r\n--b\r\nafter the end\r\n",
    # nested multipart with an epilogue of its own; a part with no header at all
    b'Content-Type: multipart/mixed; boundary="out"\n\n--out\n'
    b'Content-Type: multipart/alternative; boundary="in"\n\n--in\n\nplain\n--in\n'
    b"Content-Type: text/html; charset=UTF-8\n\n<p>html</p>\n--in--\ninner epilogue\n\n"
    b"--out\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
    b"--out--",
    # a close delimiter that ends the message, a part that is only headers
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n--x--",
    # folded and repeated headers in a part, 8-bit bytes, a continuation with only blanks
    b'Content-Type: multipart/mixed;\r\n boundary="q"\r\n\r\n--q\r\nX-A: 1\r\nX-A: \r\n'
    b'  two\r\nContent-Type: text/plain;\r\n\tcharset="iso-8859-9"\r\nX-\xfe: \xfe\r\n\r\n'
    b"\xde\xfe\r\n--q--\r\n",
    # an RFC 2231 boundary; a part that starts with a body line (a defect of that part)
    b"Content-Type: multipart/mixed; boundary*=''n\r\n\r\n--n\r\n\r\nx\r\n--n--\r\n",
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\nno header\r\n\r\nx\r\n--n--\r\n",
    # a bounce: a report, blocks of delivery status, the original (itself multipart) enclosed
    b"From: MAILER-DAEMON@example.com\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
    b"--r\r\n\r\nnot delivered\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; a@example.com\r\n"
    b"Action: failed\r\n\r\n--r\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nMessage-ID: <inner@example.com>\r\n"
    b'Content-Type: multipart/alternative; boundary="i"\r\n\r\n--i\r\n\r\nplain\r\n'
    b"--i--\r\n\r\n--r--\r\n",
    # a forwarded message, one part
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\nContent-Type: message/rfc822"
    b"\r\n\r\nSubject: inner\r\n\r\nbody\r\n--n--\r\n",
]
# what the stdlib must read itself: no close delimiter, a bare CR, a delimiter twice, no
# start delimiter
_STDLIB_CASES = [
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n\r\nnever closed\r\n",
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n\r\nbare\rCR\r\n--n--\r\n",
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n--n\r\n\r\nx\r\n--n--\r\n",
    b"Content-Type: multipart/mixed; boundary=n\r\n\r\nno delimiter at all\r\n",
]


@pytest.fixture(scope="module")
def support_corpus(tmp_path_factory) -> list[bytes]:
    """The first 300 messages of the intake bench's generated support corpus."""
    import subprocess
    import sys

    from tests.shared import SHARED_DIR

    target = tmp_path_factory.mktemp("support")
    generator = SHARED_DIR / "bench" / "gen_corpus.py"
    subprocess.run([sys.executable, str(generator), "300", str(target), "20241127"], check=True)
    return [p.read_bytes() for p in sorted(target.glob("*.eml"))]


def _variants(raw: bytes) -> list[bytes]:
    lf = raw.replace(b"\r\n", b"\n")
    return [raw, lf, lf.replace(b"\n", b"\r\n")]


def _corpus_variants() -> list[bytes]:
    return [v for p in sorted(CORPUS.rglob("*.eml")) for v in _variants(p.read_bytes())]


def _assert_same_tree(ours, stdlib, where="top"):
    assert list(ours.raw_items()) == list(stdlib.raw_items()), where
    assert [type(d) for d in ours.defects] == [type(d) for d in stdlib.defects], where
    assert (ours.preamble, ours.epilogue) == (stdlib.preamble, stdlib.epilogue), where
    assert ours.get_unixfrom() == stdlib.get_unixfrom(), where
    assert ours.get_default_type() == stdlib.get_default_type(), where
    if isinstance(stdlib._payload, list):
        assert len(ours._payload) == len(stdlib._payload), where
        for n, (mine, theirs) in enumerate(zip(ours._payload, stdlib._payload, strict=True)):
            _assert_same_tree(mine, theirs, f"{where}/{n}")
    else:
        assert ours._payload == stdlib._payload, where


def test_multipart_tree_cut_at_its_delimiters_is_the_stdlib_tree(support_corpus):
    from mailboxes.intake.parse import _PARSER, _mime_tree, _parse_headers

    built = 0
    samples = (
        _corpus_variants()
        + support_corpus
        + [v for e in _HANDLED_CASES + _STDLIB_CASES for v in _variants(e)]
    )
    for raw in samples:
        message = _parse_headers(raw)
        if message.get_content_maintype() != "multipart":
            continue
        tree = _mime_tree(message, {})
        if tree is not None:
            built += 1
            _assert_same_tree(tree, _PARSER.parsebytes(raw))
    # every generated message and the plain edge cases take the shortcut; the rest do not
    assert built >= len(support_corpus) + 3 * len(_HANDLED_CASES)


def test_what_the_tree_shortcut_leaves_to_the_stdlib_is_still_read_and_flagged():
    from mailboxes.intake.parse import _mime_tree, _parse_headers

    for raw in _STDLIB_CASES:
        assert _mime_tree(_parse_headers(raw), {}) is None
    never_closed = parse_message(_STDLIB_CASES[0])
    assert "never closed" in never_closed.body_text
    assert "CloseBoundaryNotFoundDefect" in never_closed.defects


def test_an_enclosed_message_is_one_attachment_whose_id_links_the_bounce():
    bounce = parse_message(_HANDLED_CASES[6])
    assert bounce.part_types == [
        "multipart/report",
        "text/plain",
        "message/delivery-status",
        "text/plain",
        "text/plain",
        "message/rfc822",
        "multipart/alternative",
        "text/plain",
    ]
    assert bounce.enclosed_message_ids == ["<inner@example.com>"]
    [status, original] = bounce.attachments
    assert status.content_type == "message/delivery-status"
    assert original.content_type == "message/rfc822" and b"Subject: inner" in original.payload
    assert not bounce.is_malformed


def test_a_message_that_starts_with_a_blank_line_is_all_body():
    from mailboxes.intake.parse import _PARSER, _parse_headers

    raw = b"\r\nhello\r\n\r\nworld\r\n"
    assert _parse_headers(raw).get_payload() == _PARSER.parsebytes(raw).get_payload()
    assert parse_message(raw).body_text == "hello\r\n\r\nworld\r\n"


@pytest.mark.parametrize(
    "value",
    [
        'text/plain; charset="UTF-8"',
        "TEXT/HTML;charset=iso-8859-9 ;",
        "text/plain; format=flowed; charset=utf-8; charset=latin-1",
        'multipart/alternative;\r\n boundary="===============76829=="',
        'application/pdf; name="fatura.pdf"',
        "application/pdf; name*=utf-8''%C3%96deme.pdf",
        'text/plain; charset="utf-8',
        'text/plain; charset="a;b"',
        "text",
        "text/plain; charset=\xfe",
        "",
    ],
)
def test_plain_content_type_reads_what_the_message_api_reads(value):
    from email.message import Message

    from mailboxes.intake.parse import _part_filename, _PartView

    part = Message()
    part["Content-Type"] = value
    part["Content-Disposition"] = "inline"
    view = _PartView(part)
    assert view.content_type == part.get_content_type()
    assert view.charset() == part.get_content_charset()
    assert view.filename() == _part_filename(part)
    assert view.disposition() == "inline"


def test_part_headers_read_once_agree_with_the_message_api(support_corpus):
    from mailboxes.intake.parse import _PARSER, _part_filename, _PartView

    for raw in _corpus_variants()[::3] + support_corpus:
        for part in _PARSER.parsebytes(raw).walk():
            view = _PartView(part)
            assert view.content_type == part.get_content_type()
            assert view.content_types == len(part.get_all("content-type") or ())
            assert view.charset() == part.get_content_charset()
            assert view.filename() == _part_filename(part)
            disposition = str(part.get("content-disposition") or "")
            assert view.disposition() == disposition.split(";", 1)[0].strip().lower()
            assert view.content_id() == str(part.get("content-id") or "")


def test_every_shortcut_agrees_with_the_stdlib_parse(monkeypatch, support_corpus):
    from mailboxes.intake import parse

    samples = _corpus_variants()[::3] + support_corpus + _HANDLED_CASES + _STDLIB_CASES
    fast = [parse.parse_message(raw) for raw in samples]
    monkeypatch.setattr(parse, "_simple_body_type", lambda collected: None)
    monkeypatch.setattr(parse, "_mime_tree", lambda message, views: None)
    monkeypatch.setattr(parse, "_plain_header_block", lambda block: None)
    monkeypatch.setattr(parse, "_plain_content_type", lambda value: None)
    monkeypatch.setattr(parse, "_parse_plain_multipart", lambda *args: False)
    assert fast == [parse.parse_message(raw) for raw in samples]


def test_a_delivery_reports_parts_are_kept_as_readable_text():
    """A DSN's machine-readable report (message/delivery-status) and the original's headers
    (text/rfc822-headers) are stored with their text, not as an empty or .bin file."""
    raw = (CORPUS / "sisimai" / "bsd" / "rfc3464-01.eml").read_bytes()
    parsed = parse_message(raw)
    parts = {a.content_type: a for a in parsed.attachments}
    report = parts["message/delivery-status"]
    assert b"Final-Recipient:" in report.payload and b"Status:" in report.payload
    assert report.filename.endswith(".txt")
    headers = parse_message((CORPUS / "sisimai" / "bsd" / "rfc3464-08.eml").read_bytes())
    [original] = [a for a in headers.attachments if a.content_type == "text/rfc822-headers"]
    assert original.filename.endswith(".txt") and b"Subject:" in original.payload


# The fast path of a plain multipart message (``_parse_plain_multipart``) must store what the
# general walk stores, on every message that takes it; these hold it to that on every message
# of both corpora (as stored, with LF and with CRLF line breaks) and on edge cases, and check
# that it refuses what it cannot read as the stdlib does.

_PLAIN_CASES = [
    # nested alternative in mixed, an inline image with a Content-ID, an attachment with a
    # quoted name and blanks, quoted-printable with blanks at a line's end, 8-bit text
    b"From: a@example.com\r\nMessage-ID: <p1@x>\r\n"
    b'Content-Type: multipart/mixed;\r\n boundary="out"\r\n\r\npreamble\r\n--out\r\n'
    b'Content-Type: multipart/alternative; boundary="in"\r\n\r\n--in\r\n'
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
    b"\r\n\r\nS=C3=B6zle=C5=9Fme   \r\nsoft=\r\nbreak\r\n--in\r\n"
    b"Content-Type: text/html; charset=iso-8859-9\r\n\r\n<p>\xde\xfe</p>\r\n--in--\r\n"
    b"--out\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--out\r\n"
    b'Content-Type: application/pdf; name="ignored.pdf"\r\n'
    b'Content-Disposition: attachment;\r\n\tfilename="fatura  mart.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBE\r\nRi0x\r\n--out--\r\nepilogue\r\n",
    # a part with no header, a text part that is an attachment, bare LF and CR inside a body
    b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
    b"no header\nbare LF\rbare CR\r\n--b\r\nContent-Type: text/plain\r\n"
    b"Content-Disposition: attachment\r\n\r\nnot the body\r\n--b \t\r\n"
    b"Content-Type: TEXT/HTML; charset=x-unknown-charset\r\n\r\n\xff<p>x</p>\r\n--b--",
]
# what the fast path leaves to the general walk (all still parse, and the same)
_NOT_PLAIN_CASES = [
    # an RFC 2231 file name in two pieces
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf"
    b"\r\nContent-Disposition: attachment; filename*0*=utf-8''%C3%96; filename*1=deme.pdf"
    b"\r\n\r\nx\r\n--b--\r\n",
    # base64 that is not well formed (the stdlib decodes it leniently)
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo\r\n--b--\r\n",
    # the boundary inside a line, and a delimiter after a bare CR
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee --b\r\n--b--\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r--b\r\n\r\ny\r\n--b--\r\n",
    # a delimiter line that only starts like one, text after the close delimiter
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bb\r\n--b--\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n--b\r\n",
    # an enclosed message, a digest, a part header with 8-bit bytes, two Content-Types
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822"
    b"\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b--\r\n",
    b"Content-Type: multipart/digest; boundary=b\r\n\r\n--b\r\n\r\nSubject: x\r\n\r\ny\r\n"
    b"--b--\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain;"
    b' name="\xfe.txt"\r\n\r\nx\r\n--b--\r\n',
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
    b"Content-Type: text/html\r\n\r\nx\r\n--b--\r\n",
    # a part that is only headers, a part header that is not a field
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
    b"--b--\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nnot a header\r\n\r\nx\r\n--b--\r\n",
]


def _with_and_without_the_fast_path(monkeypatch, samples):
    from mailboxes.intake import parse

    original = parse._parse_plain_multipart
    taken: list[bool] = []

    def spy(*args):
        taken.append(original(*args))
        return taken[-1]

    monkeypatch.setattr(parse, "_parse_plain_multipart", spy)
    fast = []
    took = []
    for raw in samples:
        taken.clear()
        fast.append(parse.parse_message(raw))
        took.append(bool(taken and taken[0]))
    monkeypatch.setattr(parse, "_parse_plain_multipart", lambda *args: False)
    return fast, [parse.parse_message(raw) for raw in samples], took


def test_the_plain_multipart_fast_path_stores_what_the_mime_walk_stores(
    monkeypatch, support_corpus
):
    samples = _corpus_variants() + [v for r in support_corpus for v in _variants(r)]
    samples += [v for r in _PLAIN_CASES + _NOT_PLAIN_CASES for v in _variants(r)]
    fast, walked, took = _with_and_without_the_fast_path(monkeypatch, samples)
    for raw, ours, theirs, fast_path in zip(samples, fast, walked, took, strict=True):
        assert ours == theirs, (fast_path, raw[:300])
    # the generated support mail is all plain multipart with CRLF line breaks: it all takes
    # the fast path; LF-only variants never do
    crlf_support = [n for n, raw in enumerate(samples) if raw in support_corpus]
    assert all(took[n] for n in crlf_support)
    assert not any(t for raw, t in zip(samples, took, strict=True) if b"\r\n" not in raw)


def test_the_fast_path_takes_plain_multiparts_and_refuses_the_rest(monkeypatch):
    fast, walked, took = _with_and_without_the_fast_path(
        monkeypatch, _PLAIN_CASES + _NOT_PLAIN_CASES
    )
    assert took == [True] * len(_PLAIN_CASES) + [False] * len(_NOT_PLAIN_CASES)
    assert fast == walked
    nested, bare = fast[:2]
    assert nested.part_types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
        "application/pdf",
    ]
    assert nested.body_text == "Sözleşme   \r\nsoftbreak" and nested.body_html == "<p>Şş</p>"
    [image, pdf] = nested.attachments
    assert (image.content_id, image.is_inline) == ("logo@x", True)
    assert image.payload == b"\x89PNG\r\n\x1a\n"
    assert (pdf.filename, pdf.payload, pdf.is_inline) == ("fatura mart.pdf", b"%PDF-1", False)
    assert bare.body_text == "no header\nbare LF\rbare CR"
    assert bare.attachments[0].payload == b"not the body"
    assert bare.is_malformed  # the HTML's unknown charset, as the walk notes it


@pytest.mark.parametrize(
    ("content_type", "disposition", "plain"),
    [
        ('text/plain; charset="UTF-8"', None, True),
        ('application/pdf; name="fatura.pdf"', "attachment", True),
        ('application/pdf; name="a.pdf"', 'attachment; filename="  b c.pdf "', True),
        ("image/png", "inline; filename=logo.png; size=3", True),
        ("image/png", 'INLINE;\r\n filename="=?utf-8?q?=C3=B6?=.png"', True),
        ("application/octet-stream", 'attachment; filename=""', True),
        (None, "attachment; filename=x.txt", True),
        ("application/octet-stream", "attachment; filename*=utf-8''%C3%96deme%20belgesi.pdf", True),
        ("application/pdf", "attachment;\r\n FileName*=ISO-8859-9'tr'%DEubat.pdf", True),
        ("application/pdf", "attachment; filename=a.pdf; filename*=utf-8''b.pdf", True),
        ("application/pdf", "attachment; filename*=utf-8''%FF.pdf", True),
        ("application/pdf", "attachment; filename*=x-unknown''a.pdf", False),
        ("application/pdf", "attachment; filename*=utf-8''a; filename*=utf-8''b", False),
        ("application/pdf", "attachment; filename*=utf-8''%22a%22.pdf", False),
        ("application/pdf", "attachment; filename*0*=utf-8''a; filename*1=b.pdf", False),
        ("application/octet-stream", 'attachment; filename="a;b"', False),
        ("text", "attachment", False),
    ],
)
def test_plain_part_headers_read_what_the_message_api_reads(content_type, disposition, plain):
    from email.message import Message

    from mailboxes.intake.parse import _part_filename, _PartView, _plain_part

    part = Message()
    if content_type is not None:
        part["Content-Type"] = content_type
    if disposition is not None:
        part["Content-Disposition"] = disposition
    part["Content-ID"] = "<x@y>"
    read = _plain_part(content_type, disposition, "<x@y>", None, 0, 0)
    assert (read is not None) == plain  # not plain: the general walk reads it
    if read is None:
        return
    view = _PartView(part)
    assert read.content_type == view.content_type == part.get_content_type()
    assert read.filename == _part_filename(part)
    assert read.disposition == view.disposition()
    assert read.content_id == view.content_id()
    charset = read.parameters.get("charset")
    assert (charset.lower() if charset else None) == part.get_content_charset()


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"TWVyaGFiYQ==",
        b"TWVy\r\naGFi\r\nYQ==\r\n",
        b"TWVy\naGFiYQ=\r\n=",  # the padding split by a line break
        b"TWVyaGFiYWE=\r\n",
        b"TWVy\raGFi",  # a lone CR is a line break too (bytes.splitlines)
        b"TWVyaGFiYQ",  # needs padding
        b"TWVyaGFiYQ=",
        b"TWVy aGFi",  # a space
        b"TWVy\taGFi",
        b"TW==aGFi",  # padding in the middle
        b"=TWVyaGE",
        b"TWVyaGFi====",  # more padding after complete groups: accepted
        b"TWVy\r\n==\r\n==",
        b"TW======",  # more than the last group needs
        b"TWV=====",
        b"TWVyaG=====",
        b"TWVyaGFi==TW",
        b"====",
        b"TWVyaGE=AAAA",
        b"TWVyaGFiYQ==\x00",
        b"TWVy-_Fi",  # the URL-safe alphabet
        b"T\r\n\r\nWVy",
    ],
)
def test_base64_is_decoded_in_place_exactly_as_the_stdlib_strictly_decodes_its_lines(text):
    """``_base64_decode`` reads the text where it lies, line breaks and all: it accepts
    what ``b64decode(validate=True)`` accepts once the lines are joined, gives the same
    bytes, and refuses the rest (those parts then go the stdlib's lenient way)."""
    import base64
    import binascii

    from mailboxes.intake.parse import _base64_decode

    joined = b"".join(text.splitlines())
    try:
        if len(joined) % 4:
            raise binascii.Error("needs padding")
        expected = base64.b64decode(joined, validate=True)
    except binascii.Error:
        expected = None
    raw = b"header\r\n\r\n" + text + b"\r\n--b--\r\n"
    try:
        decoded = _base64_decode(raw, 10, 10 + len(text))
    except binascii.Error:
        decoded = None
    assert decoded == expected


def test_a_plain_multipart_message_is_never_read_as_text(monkeypatch):
    """Its parts are read from the raw bytes: the body as text (as large as the message)
    only for a one-part message or one the stdlib must parse."""
    from mailboxes.intake import parse

    attachment = bytes(range(256)) * 40
    plain = make_message(attachments=[("fatura.pdf", "application/pdf", attachment)])
    read_as_text = []
    body_set = parse._body_set
    monkeypatch.setattr(
        parse,
        "_body_set",
        lambda message, raw, start: (
            read_as_text.append(start is not None) or body_set(message, raw, start)
        ),
    )
    parsed = parse.parse_message(plain.replace(b"\n", b"\r\n"))
    assert [(a.filename, a.payload) for a in parsed.attachments] == [("fatura.pdf", attachment)]
    assert parsed.body_text.startswith("Hello") and not parsed.is_malformed
    assert read_as_text == []
    one_part = parse.parse_message(make_message(body="Merhaba").replace(b"\n", b"\r\n"))
    assert one_part.body_text.startswith("Merhaba")
    assert read_as_text == [True]
