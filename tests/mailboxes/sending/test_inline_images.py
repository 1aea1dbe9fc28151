"""Images pasted in the editor (data: URIs) leave as inline parts of a multipart/related,
referenced by cid:, and come back into the editor when the draft is opened again."""

from __future__ import annotations

import base64
import re

import pytest

from mailboxes.models import Attachment
from mailboxes.sending.compose import Mailbox
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.drafts import ComposeData, email_save_draft
from mailboxes.sending.forms import draft_initial
from mailboxes.sending.inline_images import inline_images_extract
from mailboxes.sending.send import email_send
from tests.mailboxes.sending.conftest import role

pytestmark = pytest.mark.django_db

# a 1x1 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
def agent(make_user):
    return make_user("agent", roles=[role("all")])


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server)


def test_pasted_image_arrives_as_a_related_part_with_its_content_id(agent, support, smtp_server):
    html = (
        f'<p>See:</p><p><img src="{DATA_URI}" alt="chart"></p><p>again <img src="{DATA_URI}"></p>'
    )
    email = email_send(
        user=agent,
        data=ComposeData(
            from_account_id=support.pk,
            to=[Mailbox("can@customer.example")],
            subject="Chart",
            body_html=html,
        ),
    )
    [attachment] = Attachment.objects.filter(email=email)  # the same image twice: one part
    assert attachment.is_inline and attachment.content_id.endswith(
        "@" + support.email_address.split("@")[1]
    )
    assert "data:" not in email.body_html
    assert email.body_html.count(f'src="cid:{attachment.content_id}"') == 2
    assert not email.has_attachments

    assert email_deliver(email.pk).status == "sent"
    [captured] = smtp_server.wait_for_messages(1)
    message = captured.message
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html_part, image = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    cids = set(re.findall(r'src="cid:([^"]+)"', html_part.get_content()))
    assert cids == {attachment.content_id}
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{attachment.content_id}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    assert list(message.iter_attachments()) == []  # nothing else attached


def test_draft_with_a_pasted_image_opens_with_it_and_saves_it_once_again(agent, support):
    data = ComposeData(from_account_id=support.pk, body_html=f'<p><img src="{DATA_URI}"></p>')
    draft = email_save_draft(user=agent, data=data)
    [first] = draft.attachments.all()
    initial = draft_initial(draft)
    assert DATA_URI in initial["body_html"] and "cid:" not in initial["body_html"]

    data.body_html = initial["body_html"]
    data.keep_attachment_ids = []
    email_save_draft(user=agent, data=data, draft=draft)
    [second] = draft.attachments.all()
    assert (
        second.pk != first.pk
        and f"cid:{second.content_id}" in draft.__class__.objects.get(pk=draft.pk).body_html
    )
    data.body_html = "<p>no image now</p>"
    data.keep_attachment_ids = None  # a caller that keeps every attachment
    email_save_draft(user=agent, data=data, draft=draft)
    assert not draft.attachments.exists()  # not sent as an attachment once gone from the body


def test_only_images_of_known_types_become_parts():
    html = (
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">'
        '<img src="data:text/html;base64,PGI+eDwvYj4=">'
        '<img src="data:image/png;base64,@@@">'
    )
    cleaned, parts = inline_images_extract(html, domain="example.test")
    assert parts == [] and "data:" not in cleaned


def test_data_uri_typed_as_text_stays_text():
    html = f"<p>{DATA_URI}</p>"
    assert inline_images_extract(html, domain="example.test") == (html, [])
