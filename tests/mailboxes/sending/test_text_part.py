"""The text/plain part made from an agent's HTML: paragraphs, line breaks, lists, links and
quotes as the agent wrote them (inscriptis lays the HTML out)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import Case
from cases.replies import case_reply_initial
from crm.models import Note, Team
from mailboxes.html_text import html_to_text, html_visible_text
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email
from mailboxes.sending.delivery import email_deliver
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role, smtp_fields

# What the compose editor sends when the agent presses Enter twice between lines.
EDITOR_HTML = (
    "<div>Merhaba Ayşe Hanım,</div><div><br></div>"
    "<div>Faturanız ektedir.</div><div><br></div>"
    "<div>Saygılarımla,</div><div>Destek Ekibi</div>"
)
EDITOR_TEXT = "Merhaba Ayşe Hanım,\n\nFaturanız ektedir.\n\nSaygılarımla,\nDestek Ekibi\n"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (EDITOR_HTML, EDITOR_TEXT),
        ("<div>a</div><div><br></div><div><br></div><div>b</div>", "a\n\n\nb\n"),
        ("<p>Bir paragraf.</p><p>İkinci<br>satır</p>", "Bir paragraf.\n\nİkinci\nsatır\n"),
        ("satır<br>satır<br><br>yeni paragraf", "satır\nsatır\n\nyeni paragraf\n"),
        (
            "<p>Adımlar:</p><ul><li>yazıcıyı kapatın</li><li>açın</li></ul>"
            "<ol><li>bir</li><li>iki</li></ol>",
            "Adımlar:\n\n  * yazıcıyı kapatın\n  * açın\n 1. bir\n 2. iki\n",
        ),
        (
            '<p>Bkz. <a href="https://example.com/iade?no=4">iade sayfası</a>, '
            '<a href="https://example.com">https://example.com</a>, '
            '<a href="mailto:destek@example.com">destek@example.com</a></p>',
            "Bkz. [iade sayfası](https://example.com/iade?no=4), https://example.com, "
            "destek@example.com\n",
        ),
        (
            "<p>Teşekkürler.</p><blockquote><p>Fatura yanlış.</p><p>KDV eksik.</p>"
            "<blockquote>Önceki mesaj</blockquote></blockquote><p>İyi günler</p>",
            "Teşekkürler.\n\n> Fatura yanlış.\n>\n> KDV eksik.\n>\n> > Önceki mesaj\n\n"
            "İyi günler\n",
        ),
        ("<p>5 &lt; 6 &amp; 7</p><script>x()</script><style>p{}</style>", "5 < 6 & 7\n"),
        ("", ""),
    ],
    ids=["editor", "two-empty-lines", "paragraphs", "breaks", "lists", "links", "quotes",
         "entities", "empty"],
)  # fmt: skip
def test_html_becomes_the_text_the_agent_wrote(html, text):
    assert html_to_text(html) == text


def test_visible_text_has_the_words_without_markup_or_link_targets():
    html = (
        "<html><head><title>Başlık</title></head><body><div>Toplam</div><div>100 €</div>"
        '<a href="https://example.com/refund">bağlantı</a></body></html>'
    )
    assert html_visible_text(html).split() == ["Toplam", "100", "€", "bağlantı"]


@pytest.mark.django_db
def test_case_reply_keeps_its_blank_lines_in_the_text_part_and_the_stream(
    make_user, make_group_account, dovecot, imap_user, smtp_server, logged_in
):
    team = Team.objects.create(name="Support")
    agent = make_user("agent", roles=[role("team")], teams=[team])
    support = make_group_account(
        imap_user, teams=[team], create_case=True, target_team=team, smtp_is_shared=True,
        **smtp_fields(smtp_server),
    )  # fmt: skip
    dovecot.deliver(imap_user, make_message(subject="Fatura", sender="ayse@customer.example.com"))
    assert fetch_account(support.pk).imported == 1
    case = Case.objects.get()
    initial = case_reply_initial(case, agent)
    response = logged_in(agent).post(
        reverse("mailboxes:compose"),
        {
            "from_account": initial["from_account"],
            "to": initial["to"],
            "subject": initial["subject"],
            "body": "",
            "body_html": EDITOR_HTML,
            "body_format": "html",
            "parent_type": initial["parent_type"],
            "parent_id": initial["parent_id"],
            "replied": initial["replied"],
            "action": "send",
        },
    )
    assert response.status_code == 302
    reply = Email.objects.get(status=Email.Status.SENDING)
    email_deliver(reply.pk)

    [captured] = smtp_server.wait_for_messages(1)
    text_part = captured.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text_part == EDITOR_TEXT
    reply.refresh_from_db()
    assert reply.body_text == EDITOR_TEXT
    note = Note.objects.get(related_id=reply.pk, type=Note.Type.EMAIL_SENT)
    assert note.body.strip() == EDITOR_TEXT.strip()
