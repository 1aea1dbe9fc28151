"""The matcher: wildcards, anchoring, literal characters, case folding, To+Cc, bodies."""

from __future__ import annotations

import pytest

from filters.matching import CompiledFilter, CompiledFilters, MessageView, Pattern, first_match
from filters.models import EmailFilter
from filters.text import fold
from mailboxes.html_text import html_visible_text as html_to_text

from .conftest import make_filter, parsed

Action = EmailFilter.Action
Scope = EmailFilter.Scope


def matches(message, **criteria) -> bool:
    compiled = CompiledFilter.from_model(make_filter(**criteria))
    return compiled.matches(MessageView.from_parsed(message))


def subject_matches(pattern: str, subject: str) -> bool:
    return matches(parsed(subject=subject), subject_pattern=pattern)


# --- wildcards and anchoring -------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("hello", "hello", True),
        ("hello", "test hello man", False),  # no wildcard: the whole subject
        ("hello", "hello world", False),
        ("hello", "say hello", False),
        ("*hello*", "test hello man", True),
        ("hello*", "hello world", True),
        ("hello*", "say hello", False),
        ("*hello", "say hello", True),
        ("*hello", "hello world", False),
        ("*", "anything at all", True),
        ("*", "", True),
        ("a*c", "abc", True),
        ("a*c", "ac", True),  # "*" may stand for nothing
        ("a*c", "abcd", False),
        ("*invoice*2026*", "Your invoice for March 2026 is ready", True),
        ("*invoice*2026*", "2026: your invoice", False),  # pieces must appear in order
        ("ab*ba", "aba", False),  # head and tail may not overlap
        ("ab*ba", "abba", True),
        ("**hello**", "oh hello there", True),
        ("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 990, False),  # no exponential backtracking
    ],
)
def test_subject_wildcards_are_anchored_at_both_ends(pattern, subject, expected):
    assert subject_matches(pattern, subject) is expected


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("v1.2", "v1.2", True),
        ("v1.2", "v1x2", False),  # "." is a dot, not any character
        ("a+b", "a+b", True),
        ("a+b", "aab", False),
        ("why?", "why?", True),
        ("why?", "why", False),
        ("why?", "whyy", False),
        ("[urgent]*", "[urgent] server down", True),
        ("[urgent]*", "u server down", False),
        ("*(draft)*", "Report (draft) v2", True),
        ("*$100^*", "pay $100^ now", True),
        ("*\\d*", "a \\d b", True),
        ("*\\d*", "a 5 b", False),
        ("*{2}*", "x{2}y", True),
        ("a|b", "a", False),
    ],
)
def test_pattern_characters_other_than_star_are_literal(pattern, subject, expected):
    assert subject_matches(pattern, subject) is expected


def test_from_wildcard_matches_the_sender_domain():
    assert matches(parsed(sender="noreply@github.com"), from_pattern="*@github.com")
    assert not matches(parsed(sender="noreply@github.com.evil.test"), from_pattern="*@github.com")
    assert not matches(parsed(sender="noreply@notgithub.com"), from_pattern="*@github.com")
    assert matches(parsed(sender="noreply@notgithub.com"), from_pattern="*github.com")


def test_from_without_wildcard_is_exact_address_equality():
    assert matches(parsed(sender="boss@acme.test"), from_pattern="Boss@ACME.test")
    assert not matches(parsed(sender="big.boss@acme.test"), from_pattern="boss@acme.test")


def test_from_pattern_never_matches_a_message_without_sender():
    assert not matches(parsed(sender=""), from_pattern="*@acme.test")


def test_pattern_surrounding_whitespace_is_ignored():
    assert matches(parsed(subject="hello"), subject_pattern="  hello  ")


def test_subject_whitespace_runs_count_as_one_space():
    assert subject_matches("*invoice 42*", "Your  invoice\n\t42 is here")
    assert subject_matches("re: hello", "  Re:   hello ")


# --- case folding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("*iade*", "İADE TALEBİ"),  # the example
        ("iade talebi", "İADE TALEBİ"),
        ("İADE TALEBİ", "iade talebi"),  # the other direction
        ("*İade*", "Re: iade"),
        ("*ıade*", "IADE"),  # dotless small i
        ("*IADE*", "ıade"),
        ("kapı", "KAPI"),
        ("KAPI", "kapı"),
        ("kapi", "KAPI"),
        ("*İstanbul*", "ISTANBUL ofisi"),
        ("*istanbul*", "I\u0307STANBUL"),  # decomposed İ (I + combining dot above)
        ("*istanbul*", "i\u0307stanbul"),  # lower-case i typed with a combining dot
        ("*ŞİKAYET*", "şikayet var"),
        ("*çağrı*", "ÇAĞRI merkezi"),
    ],
)
def test_turkish_i_folds_in_both_directions(pattern, subject):
    assert subject_matches(pattern, subject)


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("*straße*", "STRASSE 5"),
        ("*STRASSE*", "Hauptstraße 5"),
        ("*STRAẞE*", "strasse"),  # capital sharp s
        ("*größe*", "GRÖSSE"),
        ("*ÉTÉ*", "été"),
        ("*ΣΟΦΙΑ*", "σοφια"),
        ("*σοφιας*", "ΣΟΦΙΑΣ"),  # final sigma
        ("*\uff21\uff22\uff23*", "abc"),  # full-width letters
    ],
)
def test_unicode_case_folding_matches_other_languages(pattern, subject):
    assert subject_matches(pattern, subject)


def test_case_folding_keeps_different_letters_apart():
    assert not subject_matches("*ete*", "été")
    assert not subject_matches("*sz*", "ß")
    assert not subject_matches("*şikayet*", "sikayet")


def test_fold_normalises_all_four_turkish_i_to_plain_i():
    assert {fold(c) for c in ("I", "ı", "İ", "i", "I\u0307", "i\u0307")} == {"i"}


def test_from_and_to_fold_case():
    assert matches(parsed(sender="Ali.Veli@Firma.COM.TR"), from_pattern="*@firma.com.tr")
    assert matches(parsed(to=("INFO@ŞİRKET.TEST",)), to_pattern="info@şirket.test")


# --- To and Cc ---------------------------------------------------------------------------


def test_to_matches_any_to_address():
    message = parsed(to=("a@acme.test", "billing@acme.test", "c@acme.test"))
    assert matches(message, to_pattern="billing@*")


def test_to_matches_cc_addresses_too():
    message = parsed(to=("a@acme.test",), cc=("x@acme.test", "billing@acme.test"))
    assert matches(message, to_pattern="billing@acme.test")


def test_to_does_not_match_when_no_to_or_cc_address_matches():
    message = parsed(to=("a@acme.test",), cc=("b@acme.test",))
    assert not matches(message, to_pattern="billing@acme.test")
    assert not matches(parsed(to=(), cc=()), to_pattern="*")


# --- bodies ------------------------------------------------------------------------------


def test_body_contains_any_needs_one_phrase():
    message = parsed(text="Please process my refund as soon as possible.")
    assert matches(message, body_contains_any=["cancel", "REFUND"])
    assert not matches(message, body_contains_any=["cancel", "invoice"])


def test_body_contains_all_needs_every_phrase():
    message = parsed(text="Your invoice 42 is attached; payment is due in 30 days.")
    assert matches(message, body_contains_all=["invoice", "payment is due"])
    assert not matches(message, body_contains_all=["invoice", "overdue"])


def test_body_phrases_are_substrings_anywhere():
    assert matches(parsed(text="unsubscribe-link"), body_contains_any=["subscribe"])


def test_body_phrases_match_across_wrapped_lines():
    message = parsed(text="We would like to request a\r\nrefund for order 7.")
    assert matches(message, body_contains_any=["request a refund"])


def test_body_phrases_fold_turkish_case():
    message = parsed(text="SİPARİŞ İPTALİ hakkında")
    assert matches(message, body_contains_all=["sipariş iptali"])
    assert matches(parsed(text="sipariş iptali"), body_contains_any=["SİPARİŞ İPTALİ"])


def test_empty_body_phrases_are_ignored():
    message = parsed(text="hello")
    assert matches(message, body_contains_any=["", "  ", "hello"])
    assert not matches(message, body_contains_any=["", "  "])  # no criterion left


def test_html_only_body_is_matched_on_its_text():
    html = (
        "<html><head><title>refund</title><style>.refund{}</style></head><body>"
        "<p>Dear <b>cust</b>omer,</p><table><tr><td>Total</td><td>100&nbsp;&euro;</td></tr>"
        "</table><p>Fish &amp; chips</p><script>var cancel = 1;</script>"
        "<a href='https://example.test/refund-policy'>policy</a></body></html>"
    )
    message = parsed(html=html)
    assert matches(message, body_contains_any=["dear customer"])  # inline tags don't split
    assert matches(message, body_contains_all=["total 100 €", "fish & chips"])  # entities
    assert not matches(message, body_contains_any=["refund"])  # title, style, href
    assert not matches(message, body_contains_any=["cancel"])  # script
    assert not matches(message, body_contains_any=["<p>", "&amp;", "nbsp"])  # markup


def test_html_body_is_ignored_when_there_is_a_text_part():
    message = parsed(text="plain version", html="<p>html only words</p>")
    assert matches(message, body_contains_any=["plain version"])
    assert not matches(message, body_contains_any=["html only words"])


def test_html_body_is_used_when_the_text_part_is_blank():
    message = parsed(text=" \r\n ", html="<div>İade talebi</div>")
    assert matches(message, body_contains_any=["iade talebi"])


def test_html_to_text_separates_blocks_and_lines():
    assert html_to_text("<div>one</div><div>two</div>line<br>break").split() == [
        "one",
        "two",
        "line",
        "break",
    ]
    assert html_to_text("5 &lt; 6 <!-- hidden -->and 7 > 3").split() == [
        "5",
        "<",
        "6",
        "and",
        "7",
        ">",
        "3",
    ]
    assert html_to_text("") == ""


def test_body_criterion_never_matches_an_empty_body():
    assert not matches(parsed(text=""), body_contains_any=["x"])
    assert not matches(parsed(text=""), body_contains_all=["x"])


# --- criteria combined -------------------------------------------------------------------


def test_every_set_criterion_must_match():
    message = parsed(sender="a@shop.test", subject="Order 5 shipped", text="tracking number")
    criteria = {
        "from_pattern": "*@shop.test",
        "subject_pattern": "order * shipped",
        "body_contains_any": ["tracking"],
    }
    assert matches(message, **criteria)
    assert not matches(message, **{**criteria, "from_pattern": "*@other.test"})
    assert not matches(message, **{**criteria, "subject_pattern": "order * lost"})
    assert not matches(message, **{**criteria, "body_contains_any": ["refund"]})


def test_filter_without_criteria_never_matches():
    message = parsed(sender="", to=(), subject="", text="")
    assert not matches(message)
    assert not matches(parsed())
    assert not matches(parsed(), from_pattern="   ", subject_pattern="", body_contains_all=[""])


# --- first match and header-only mode ----------------------------------------------------


def compiled_list(*specs) -> list[CompiledFilter]:
    return [
        CompiledFilter.from_model(make_filter(pk=i, name=f"f{i}", **spec))
        for i, spec in enumerate(specs, start=1)
    ]


def test_first_match_takes_the_first_matching_filter_in_order():
    filters = compiled_list(
        {"subject_pattern": "nope"},
        {"subject_pattern": "*hello*", "action": Action.MOVE_TO_FOLDER},
        {"subject_pattern": "*", "action": Action.SKIP},
    )
    assert first_match(filters, parsed(subject="hello")).id == 2
    assert first_match(filters, parsed(subject="bye")).id == 3


def test_needs_body_is_set_only_by_body_criteria():
    header_only, with_body = compiled_list(
        {"from_pattern": "*", "to_pattern": "*", "subject_pattern": "*"},
        {"subject_pattern": "*", "body_contains_all": ["x"]},
    )
    assert not header_only.needs_body
    assert with_body.needs_body


def test_headers_only_mode_matches_a_header_only_filter_without_a_body():
    filters = compiled_list({"from_pattern": "*@spam.test", "action": Action.SKIP})
    message = parsed(sender="x@spam.test", headers_only=True)
    assert first_match(filters, message, headers_only=True).id == 1


def test_headers_only_mode_is_undecided_when_a_body_filter_could_win_first():
    filters = compiled_list(
        {"subject_pattern": "*", "body_contains_any": ["vip"], "action": Action.NONE},
        {"from_pattern": "*@spam.test", "action": Action.SKIP},
    )
    message = parsed(sender="x@spam.test", headers_only=True)
    assert first_match(filters, message, headers_only=True) is None
    # with the body known, the body filter decides
    assert first_match(filters, parsed(sender="x@spam.test", text="VIP customer")).id == 1
    assert first_match(filters, parsed(sender="x@spam.test", text="buy now")).id == 2


def test_headers_only_mode_passes_over_body_filters_whose_headers_fail():
    filters = compiled_list(
        {"from_pattern": "*@vip.test", "body_contains_any": ["x"]},
        {"from_pattern": "*@spam.test", "action": Action.SKIP},
    )
    message = parsed(sender="x@spam.test", headers_only=True)
    assert first_match(filters, message, headers_only=True).id == 2


def test_headers_only_mode_never_reads_the_body():
    filters = compiled_list({"subject_pattern": "*"})
    view = MessageView.from_parsed(parsed(html="<p>" * 10))
    first_match(filters, view, headers_only=True)
    assert "folded_body" not in view.__dict__


def test_can_skip_on_headers_only_with_a_header_only_skip_filter():
    assert CompiledFilters(
        compiled_list({"from_pattern": "*", "action": Action.SKIP})
    ).can_skip_on_headers
    assert not CompiledFilters(
        compiled_list({"from_pattern": "*", "body_contains_any": ["x"], "action": Action.SKIP})
    ).can_skip_on_headers
    assert not CompiledFilters(compiled_list({"from_pattern": "*"})).can_skip_on_headers


def test_pattern_compile_treats_blank_as_unset():
    assert Pattern.compile("") is None
    assert Pattern.compile("   ") is None
    assert Pattern.compile("*") is not None


def test_many_body_filters_share_one_converted_body():
    filters = compiled_list(*({"body_contains_any": [f"w{i}x"]} for i in range(20)))
    view = MessageView.from_parsed(parsed(html="<p>W19X</p>"))
    assert first_match(filters, view).id == 20
    assert view.__dict__["folded_body"] == "w19x"  # computed once, kept on the view


@pytest.mark.parametrize("scope", [Scope.GLOBAL, Scope.PERSONAL_ACCOUNT])
def test_move_actions_are_not_effective_outside_their_scopes(scope):
    compiled = CompiledFilter.from_model(
        make_filter(scope=scope, action=Action.MOVE_TO_FOLDER, subject_pattern="*")
    )
    assert not compiled.is_effective
