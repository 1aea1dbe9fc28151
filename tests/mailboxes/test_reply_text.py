"""The reply text shown on a Case stream: what the sender typed, not the thread below it.

Expectations come from shared/corpus/reply-parser (EXPECTED.json, written from the upstream
crisp-oss/email-reply-parser test suite) plus cases a Turkish CRM meets every day.
"""

from __future__ import annotations

import json
import time

import pytest

from mailboxes.inbox.reply_text import reply_fragment, visible_reply_text
from tests.shared import CORPUS as SHARED_CORPUS

CORPUS = SHARED_CORPUS / "reply-parser"
EXPECTED = json.loads((CORPUS / "EXPECTED.json").read_text(encoding="utf-8"))["fixtures"]
WITH_REPLY_TEXT = sorted(name for name, fx in EXPECTED.items() if fx["reply_text"] is not None)


def body_of(name: str) -> str:
    """The fixture as stored: CRLF fixtures keep their CRLF (read_text would translate it)."""
    return (CORPUS / name).read_bytes().decode("utf-8")


def lines_of(text: str) -> str:
    """Text as the parser gives it back: LF line ends, no trailing spaces, no outer blanks."""
    text = text.replace("\r\n", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def test_corpus_has_the_fifty_pinned_replies():
    assert len(WITH_REPLY_TEXT) == 50


@pytest.mark.parametrize("name", WITH_REPLY_TEXT)
def test_corpus_reply_is_the_expected_text(name):
    """The stored reply is the expected text; the sender's fragment matches it to the byte.

    ``reply_fragment`` keeps the blank lines that follow the text in the message (the corpus
    pins them: "-Abhishek Kona\\n\\n"); ``visible_reply_text``, which notes and case
    descriptions store, is that fragment without the outer whitespace.
    """
    fixture = EXPECTED[name]
    expected = fixture["reply_text"]
    body = body_of(name)
    if "after trim" in fixture["reply_text_kind"]:
        assert reply_fragment(body).strip() == expected.strip()
    else:
        assert reply_fragment(body) == expected
    assert visible_reply_text(body) == expected.strip()


# fixture: (texts the reply must contain, texts it must not contain)
PARTLY_PINNED = {
    "correct_sig.txt": (["this is an email with a correct -- signature."], ["rick"]),
    "sig_no_empty_line.txt": (["with no empty line above."], ["rick", "--"]),
    "email_4.txt": (["Awesome! I haven't had another problem"], ["On Aug 22", "Loader"]),
    "email_6.txt": (["I get proper rendering as well."], ["Corey Donohoe", "Was this caching"]),
    "email_one_is_not_on.txt": (
        ["One outstanding question I had:", "Locally (on development)"],
        ["On Oct 1, 2012", "The good news"],
    ),
    "email_reply_header.txt": (
        ["On the one hand, there could", "On the other hand, it could happen TWICE!", "Stranger"],
        ["On Wed, Dec 9", "mrmister", "My name is Stranger"],
    ),
    "email_2.txt": (["Hi,"], ["Abhishek Kona wrote", "Hi folks", "riak-users mailing list"]),
    "email_tricky_11_double_signature.txt": (
        ["Thanks for your help!"],
        ["Senior Developer", "Sent from my iPhone"],
    ),
    "email_tricky_16_unicode_signatures.txt": (["Thanks for the update!"], []),
    "email_tricky_17_forward_header.txt": (
        ["See the forwarded message below."],
        ["Forwarded message", "From: John Smith", "forwarded content"],
    ),
    "email_tricky_19_quote_without_header.txt": (
        ["I wanted to respond to your points:"],
        ["This is a quoted section"],
    ),
    "email_tricky_20_html_entities.txt": (
        ["The data should be &gt; 100 and &lt; 200.", "&amp; symbols"],
        ["Johnny", "Previous message"],
    ),
    "email_tricky_2_url_with_wrote.txt": (
        [
            "Check out this article about email parsing: "
            "https://example.com/blog/on-date-someone-wrote-about-parsing",
            'patterns like "wrote:" in them.',
        ],
        [],
    ),
    "email_tricky_9_nested_quotes.txt": (
        ["I agree with the points below."],
        ["Jane Doe", "Thanks for forwarding"],
    ),
}


@pytest.mark.parametrize("name", sorted(PARTLY_PINNED))
def test_corpus_partly_pinned_reply_keeps_the_text_and_drops_the_rest(name):
    must, must_not = PARTLY_PINNED[name]
    text = visible_reply_text(body_of(name))
    for part in must:
        assert part in text
    for part in must_not:
        assert part not in text


# The upstream tests say these are one fragment, not a signature and not quoted: "On" opening a
# sentence, "From:" or "wrote" inside the text, "Sincerely,", "-- first point", timestamps,
# "----"/"====" rules, "sent from my iPhone app" and code are all the sender's.
WHOLE_BODY = [
    "email_5.txt",
    "email_not_a_signature.txt",
    "email_not_a_signature_2.txt",
    "email_tricky_13_timestamp_variations.txt",
    "email_tricky_1_on_false_positive.txt",
    "email_tricky_3_code_block.txt",
    "email_tricky_4_from_in_body.txt",
    "email_tricky_6_regards_in_sentence.txt",
    "email_tricky_7_multiple_dashes.txt",
    "email_tricky_8_sent_from_in_content.txt",
]


@pytest.mark.parametrize("name", WHOLE_BODY)
def test_corpus_text_that_only_looks_like_a_header_or_signature_is_kept(name):
    body = body_of(name)
    assert visible_reply_text(body) == lines_of(body)


# Fixtures the upstream tests leave open; what a Case stream should show for them (ours).
OURS = {
    "email_19.txt": "On Thursday, I get proper rendering.",
    "email_20.txt": "On Thursday.",
    "email_2_1.txt": "Outlook with a reply",
    "email_blackberry.txt": "Here is another email",
    "email_iphone.txt": "Here is another email",
    "email_multi_word_sent_from_my_mobile_device.txt": "Here is another email",
    "email_custom_quote_header.txt": "Thank you!",
    "email_customer_quote_header_2.txt": "Thank you very much.",
    "email_customer_quote_header_3.txt": (
        "bonjour,\nje n'ai pas eu de retour sur ma précision..\nmerci d'avance"
    ),
    "email_thread.txt": "This is new email reply in thread from bellow.",
    "email_unquoted_reply.txt": "This is my reply.",
    "email_bullets.txt": (
        "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n"
        "   - how about bullets\n   - and another"
    ),
    "email_tricky_18_inline_reply.txt": (
        "I think option A is great.\n\nOption B has some drawbacks.\n\n"
        "Option C is not suitable for our use case."
    ),
}


@pytest.mark.parametrize("name", sorted(OURS))
def test_corpus_open_fixture_shows_only_the_senders_text(name):
    assert visible_reply_text(body_of(name)) == OURS[name]


@pytest.mark.parametrize(
    "name", ["email_21.txt", "email_sent_from_my_not_signature.txt", "email_with_date_headers.txt"]
)
def test_corpus_open_fixture_without_history_is_kept_whole(name):
    """ "On Thursday:" paragraphs and "Sent from my desk, is…" are the sender's own text."""
    body = body_of(name)
    assert visible_reply_text(body) == lines_of(body)


REPLY = "Yazıcı hâlâ boş sayfa basıyor.\nNe yapmamız gerekiyor?"


@pytest.mark.parametrize(
    "history",
    [
        # Gmail in Turkish, with and without quoting, and wrapped before the address
        "15 Oca 2024 Pzt, 14:30 tarihinde Ayşe Yılmaz <ayse@acme.example> şunu yazdı:\n"
        "> Merhaba, sorununuz nedir?\n",
        "Ayşe Yılmaz <ayse@acme.example>, 15 Oca 2024 Pzt, 14:30 tarihinde şunu yazdı:\n\n"
        "Merhaba, sorununuz nedir?\n",
        "15 Oca 2024 Pzt, 14:30 tarihinde Ayşe Yılmaz <\nayse@acme.example> şunu yazdı:\n\n"
        "Merhaba, sorununuz nedir?\n",
        # Apple Mail in Turkish
        "15 Oca 2024 tarihinde 14:30 saatinde, Ayşe Yılmaz <ayse@acme.example> şunları yazdı:\n"
        "\n> Merhaba\n",
        # Outlook in Turkish: separator, bare header block, header block under a rule
        "-----Orijinal Mesaj-----\nKimden: Ayşe Yılmaz [mailto:ayse@acme.example]\n"
        "Gönderildi: 15 Ocak 2024 Pazartesi 14:30\nKime: destek@postaci.example\n"
        "Konu: Yazıcı\n\nMerhaba, sorununuz nedir?\n",
        "Kimden: Ayşe Yılmaz <ayse@acme.example>\nGönderildi: 15 Ocak 2024 Pazartesi 14:30\n"
        "Kime: destek@postaci.example\nBilgi: ali@acme.example\nKonu: Yazıcı\n\nMerhaba\n",
        "________________________________\nKimden: Ayşe Yılmaz <ayse@acme.example>\n"
        "Tarih: 15 Ocak 2024 14:30\nKime: destek@postaci.example\nKonu: Yazıcı\n\nMerhaba\n",
        # a forward, and a phone's signature over an unquoted thread
        "---------- Yönlendirilmiş ileti ---------\nKimden: Ayşe <ayse@acme.example>\n"
        "Date: 15 Oca 2024 Pzt, 14:30\nSubject: Yazıcı\nTo: <destek@postaci.example>\n\nMerhaba\n",
        "iPhone'umdan gönderildi\n\nAyşe Yılmaz <ayse@acme.example>, 15 Oca 2024 Pzt, 14:30\n"
        "Merhaba\n",
    ],
    ids=[
        "gmail-quoted",
        "gmail-name-first",
        "gmail-wrapped",
        "apple-mail",
        "orijinal-mesaj",
        "outlook-block",
        "outlook-block-under-rule",
        "gmail-forward",
        "iphone-signature",
    ],
)
def test_turkish_quote_headers_cut_the_history(history):
    assert visible_reply_text(f"{REPLY}\n\n{history}") == REPLY


@pytest.mark.parametrize(
    "history",
    [
        "El lun, 15 ene 2024 a las 14:30, Juan (<juan@acme.example>) escribió:\n> hola",
        "2024年1月15日(月) 14:30 Taro <taro@acme.example>:\n\n> こんにちは",
        "在 2024年1月15日 14:30，Li <li@acme.example> 写道：\n> 你好",
        "Den 15 jan. 2024 kl. 14:30 skrev Sven <sven@acme.example>:\n\n> hej",
        "15 января 2024 г., в 14:30, Иван <ivan@acme.example> написал(а):\n> привет",
        "Dne 15. 1. 2024 14:30 napsal Jan <jan@acme.example>:\n> ahoj",
        "From: Support Team\n<support@acme.example>\nSent: Monday, 15 January 2024\n"
        "To: me\nSubject: hi\n\nold",
        "Begin forwarded message:\n\nFrom: Ali <ali@acme.example>\nSubject: hi\n\nold",
    ],
    ids=["es", "ja", "zh", "sv", "ru", "cs", "outlook-wrapped-from", "apple-forward"],
)
def test_other_languages_quote_headers_cut_the_history(history):
    assert visible_reply_text(f"{REPLY}\n\n{history}") == REPLY


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        (
            "Teşekkürler,\n"
            "15 Oca 2024 Pzt, 14:30 tarihinde Ayşe <ayse@acme.example> şunu yazdı:\n> x",
            "Teşekkürler,",
        ),
        (
            "Le problème persiste,\n"
            "Le 15 janv. 2024 à 14:30, Pierre <p@acme.example> a écrit :\n> x",
            "Le problème persiste,",
        ),
        (
            "On my side nothing changed,\nOn Mon, 1 Jan 2024, Ali <ali@acme.example> wrote:\n> x",
            "On my side nothing changed,",
        ),
    ],
    ids=["tr", "fr", "en"],
)
def test_a_line_right_above_the_header_stays_the_senders(body, reply):
    assert visible_reply_text(body) == reply


def test_turkish_text_that_looks_like_fields_is_kept():
    body = "Kimden: sorusuna cevap veremedim.\nKonu: yazıcı\n\nTeşekkürler"
    assert visible_reply_text(body) == body


def test_turkish_closing_is_kept_but_regards_is_not():
    """Only "Regards,"-style closings go (as the corpus wants); "Saygılarımla" stays."""
    assert visible_reply_text("Sorun çözüldü.\n\nSaygılarımla,\nAyşe") == (
        "Sorun çözüldü.\n\nSaygılarımla,\nAyşe"
    )
    assert visible_reply_text("Fixed, thanks.\n\nKind regards,\nAyşe Yılmaz\nACME") == (
        "Fixed, thanks."
    )


def test_crlf_and_trailing_spaces_are_normalised():
    body = "Merhaba, \r\nyazıcı bozuk.\r\n\r\nOn Mon, 1 Jan 2024, Ali <ali@x.example> wrote:\r\n> x"
    assert visible_reply_text(body) == "Merhaba,\nyazıcı bozuk."
    assert reply_fragment(body) == "Merhaba,\nyazıcı bozuk.\n"


def test_empty_and_whitespace_bodies_give_no_text():
    assert visible_reply_text("") == ""
    assert visible_reply_text(" \r\n\t\n") == ""


def test_a_bare_forward_keeps_the_whole_body():
    """With nothing of the sender's own, the forwarded mail is the case's description."""
    body = "-----Original Message-----\nFrom: a@acme.example\nSent: Monday 10:00\nTo: b\n\nHelp!"
    assert visible_reply_text(body) == body


def _seconds_to_read(body: str) -> float:
    """CPU time, best of five, so a busy neighbour on the machine does not decide the result."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        visible_reply_text(body)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize(
    "make_body",
    [
        lambda kb: "On " + "a" * (kb * 1000),
        lambda kb: "On 1 Jan 2024 x wrote\n" * (kb * 50),
        lambda kb: ("On x " + "y " * 40 + "wrote\n") * (kb * 12),
        lambda kb: ("Le 2024 " + "x y" * 30 + " a:\n") * (kb * 10),
        lambda kb: ("2024 " + "a" * 80 + "@" + "b" * 10 + ":\n") * (kb * 10),
        lambda kb: "Kimden: a\nKime: b\n" * (kb * 60),
        lambda kb: "Regards,\n" * (kb * 110),
        lambda kb: "> a\nb\n" * (kb * 160),
        lambda kb: ">" * (kb * 1000),
        lambda kb: "-" * (kb * 1000),
        lambda kb: ("a." * 199 + "\n") * (kb * 5 // 2),
        lambda kb: ("x@y.z " * 60 + "\n") * (kb * 14 // 5),
    ],
    ids=lambda make_body: repr(make_body(1)[:12]),
)
def test_a_pathological_body_costs_linear_time(make_body):
    """A hostile body must not make the stream's regexes backtrack (quadratic or worse).

    Compares 50 KB against 200 KB of the same pattern in the same run, so the check holds on
    a slow or loaded machine: linear work grows about 4×, quadratic 16×.
    """
    small, large = make_body(50), make_body(200)
    assert len(large) >= 180_000
    visible_reply_text(small)  # warm the regex cache
    growth = _seconds_to_read(large) / max(_seconds_to_read(small), 1e-4)
    assert growth < 10, f"4× the input took {growth:.1f}× the time"
