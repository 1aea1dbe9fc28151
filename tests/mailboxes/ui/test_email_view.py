"""One email: who may open it, what it shows, and how its HTML is kept from running."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from mailboxes.models import Email, EmailUser, RawMessage
from tests.mailboxes.ui.conftest import attachment_create

pytestmark = pytest.mark.django_db
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def detail(client, email, **params):
    return client.get(reverse("mailboxes:email-detail", args=[email.pk]), params)


def test_opening_an_email_marks_it_read_for_that_user_only(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    email = make_email(users=[ayse, bora])
    assert detail(logged_in(ayse), email).status_code == 200
    assert EmailUser.objects.get(user=ayse, email=email).is_read
    assert not EmailUser.objects.get(user=bora, email=email).is_read


def test_another_users_personal_mail_answers_404_everywhere(
    make_user, make_email, logged_in, make_personal_account, dovecot
):
    ayse, bora = make_user("ayse"), make_user("bora")
    account = make_personal_account(bora, dovecot.add_user("bora-box"))
    email = make_email(users=[bora], accounts=[account], subject="Bora's private mail")
    attachment = attachment_create(email, "secret.pdf", b"%PDF", "application/pdf")
    client = logged_in(ayse)
    for url in (
        reverse("mailboxes:email-detail", args=[email.pk]),
        reverse("mailboxes:email-body", args=[email.pk]),
        reverse("mailboxes:attachment", args=[attachment.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("mailboxes:email-action", args=[email.pk]), {"action": "trash"})
    assert response.status_code == 404
    assert not EmailUser.objects.filter(user=ayse).exists()
    inbox = client.get(reverse("mailboxes:folder", args=["all"]))
    assert b"Bora's private mail" not in inbox.content


def test_team_access_opens_team_mail(make_user, make_email, logged_in, team):
    teammate = make_user("teammate", level="team", teams=[team])
    email = make_email(users=[], teams=[team])
    assert detail(logged_in(teammate), email).status_code == 200
    assert detail(logged_in(make_user("loner", level="own")), email).status_code == 404


def test_headers_and_the_linked_record(make_user, make_email, logged_in, make_record):
    ayse = make_user("ayse")
    acme = make_record("account", ayse, name="Acme Corp")
    linked = make_email(
        users=[ayse],
        subject="Order status",
        sender="ali@acme.example",
        sender_name="Ali Veli",
        to=("ayse@example.com",),
        cc=("boss@example.com",),
        parent=acme,
        linked_by=Email.LinkedBy.SENDER,
    )
    page = detail(logged_in(ayse), linked).content.decode()
    assert "Order status" in page and "Ali Veli" in page and "ali@acme.example" in page
    assert "ayse@example.com" in page and "boss@example.com" in page
    assert f'href="{acme.get_absolute_url()}"' in page and "Acme Corp" in page
    assert "linked by: Sender" in page

    lonely = make_email(users=[ayse])
    assert "Not linked" in detail(logged_in(ayse), lonely).content.decode()


def test_only_accounts_the_user_knows_are_named(
    make_user, make_email, logged_in, make_personal_account, make_group_account, dovecot, team
):
    ayse, bora = make_user("ayse", teams=[team]), make_user("bora")
    group = make_group_account(dovecot.add_user("support"), name="Support desk", teams=[team])
    hers = make_personal_account(ayse, dovecot.add_user("ayse-box"), name="Ayşe's box")
    his = make_personal_account(bora, dovecot.add_user("bora-box2"), name="Bora's box")
    email = make_email(users=[ayse, bora], accounts=[group, hers, his])
    page = detail(logged_in(ayse), email).content.decode()
    assert "Support desk" in page and "Ayşe&#x27;s box" in page
    assert "Bora" not in page


def test_badges_for_automatic_malformed_and_oversized_mail(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(
        users=[ayse],
        auto_kind=Email.AutoKind.OUT_OF_OFFICE,
        is_malformed=True,
        parse_defects="MissingHeaderBodySeparatorDefect",
        headers_only=True,
    )
    page = detail(logged_in(ayse), email).content.decode()
    assert "Out of office" in page and "Malformed" in page
    assert "MissingHeaderBodySeparatorDefect" in page
    assert "Body not downloaded" in page and "larger than the size limit" in page


def test_html_is_framed_in_a_sandbox_without_scripts_or_same_origin(
    make_user, make_email, logged_in
):
    ayse = make_user("ayse")
    email = make_email(users=[ayse], body_html="<p>Hi <script>alert(1)</script></p>")
    page = detail(logged_in(ayse), email).content.decode()
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 1
    sandbox = re.search(r'sandbox="([^"]*)"', frames[0]).group(1)
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert f'src="{reverse("mailboxes:email-body", args=[email.pk])}"' in frames[0]
    assert "<script>alert" not in page


def test_body_document_has_a_strict_policy_and_no_script(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(
        users=[ayse],
        body_html='<p onclick="alert(1)">Hi</p><script>alert(2)</script><img src="https://t.example/p.gif">',
    )
    response = logged_in(ayse).get(reverse("mailboxes:email-body", args=[email.pk]))
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert "script-src" not in csp and "allow-scripts" not in csp
    assert "img-src data: http://testserver;" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    body = response.content.decode()
    assert "<p>Hi</p>" in body and "alert" not in body and "t.example" not in body


def test_remote_images_wait_for_the_user(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse], body_html='<img src="https://t.example/p.gif"><p>x</p>')
    client = logged_in(ayse)
    page = detail(client, email).content.decode()
    assert "1 remote image is hidden" in page and 'data-testid="show-images"' in page

    shown = detail(client, email, images="1").content.decode()
    assert "remote image is hidden" not in shown
    assert "body/?images=1" in shown
    body = client.get(reverse("mailboxes:email-body", args=[email.pk]), {"images": "1"})
    assert 'src="https://t.example/p.gif"' in body.content.decode()
    assert "img-src data: http://testserver https: http:" in body["Content-Security-Policy"]


def test_inline_image_is_served_through_a_signed_link(make_user, make_email, logged_in, team):
    ayse = make_user("ayse")
    email = make_email(users=[ayse], body_html='<p>Logo:</p><img src="cid:logo@x">')
    image = attachment_create(
        email, "logo.png", PNG, "image/png", content_id="logo@x", is_inline=True
    )
    client = logged_in(ayse)
    body = client.get(reverse("mailboxes:email-body", args=[email.pk])).content.decode()
    src = re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")
    path = urlsplit(src)
    assert path.path == reverse("mailboxes:attachment-inline", args=[image.pk])

    # the sandboxed document sends no session cookie: the signature is the ticket
    from django.test import Client

    anonymous = Client()
    served = anonymous.get(f"{path.path}?{path.query}")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert served["X-Content-Type-Options"] == "nosniff"
    assert anonymous.get(path.path).status_code == 404
    assert anonymous.get(f"{path.path}?t=forged").status_code == 404
    other = reverse("mailboxes:attachment-inline", args=[image.pk + 1000])
    assert anonymous.get(f"{other}?{path.query}").status_code == 404

    # the inline image is not listed again as an attachment
    assert "logo.png" not in detail(client, email).content.decode()

    # access is checked again for the signed user: once gone, the link is dead
    EmailUser.objects.filter(user=ayse).delete()
    assert anonymous.get(f"{path.path}?{path.query}").status_code == 404


def test_svg_is_never_served_inline(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse], body_html='<img src="cid:pic">')
    attachment_create(
        email,
        "pic.svg",
        b"<svg onload=alert(1)>",
        "image/svg+xml",
        content_id="pic",
        is_inline=True,
    )
    body = logged_in(ayse).get(reverse("mailboxes:email-body", args=[email.pk])).content.decode()
    assert "attachments/" not in body


def test_attachment_download_names_the_file_and_forbids_sniffing(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse])
    attachment = attachment_create(email, "Sipariş özeti.html", b"<script>x</script>", "text/html")
    response = logged_in(ayse).get(reverse("mailboxes:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''Sipari%C5%9F%20%C3%B6zeti.html" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == b"<script>x</script>"


def test_raw_source_is_for_administrators(
    make_user, make_email, logged_in, make_group_account, imap_user
):
    ayse, admin = make_user("ayse"), make_user("root", admin=True)
    account = make_group_account(imap_user)
    email = make_email(users=[ayse])
    RawMessage.objects.create(
        account=account,
        folder="INBOX",
        uidvalidity=1,
        uid=1,
        sha256="x",
        raw=b"Subject: hi\r\n\r\nbody",
        status=RawMessage.Status.IMPORTED,
        email=email,
    )
    url = reverse("mailboxes:email-raw", args=[email.pk])
    assert logged_in(ayse).get(url).status_code == 403
    response = logged_in(admin).get(url)
    assert response.status_code == 200 and response.content == b"Subject: hi\r\n\r\nbody"
    assert response["Content-Type"] == "message/rfc822"
    assert "Raw source" in detail(logged_in(admin), email).content.decode()
    assert "Raw source" not in detail(logged_in(ayse), email).content.decode()


def test_plain_text_mail_is_shown_escaped_with_links(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse], body_text="See https://shop.example/x <b>not bold</b>")
    page = detail(logged_in(ayse), email).content.decode()
    assert "<iframe" not in page
    assert '<a href="https://shop.example/x"' in page and "&lt;b&gt;not bold&lt;/b&gt;" in page


def test_email_actions_from_the_view(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse])
    client = logged_in(ayse)
    url = reverse("mailboxes:email-action", args=[email.pk])
    client.post(url, {"action": "important", "folder": "inbox"})
    assert EmailUser.objects.get(user=ayse).is_important
    response = client.post(url, {"action": "trash", "next": "/emails/"})
    assert response["Location"] == "/emails/" and EmailUser.objects.get(user=ayse).in_trash
    response = client.post(url, {"action": "trash", "next": "https://evil.example/"})
    assert response["Location"] == reverse("mailboxes:inbox")


def test_newer_and_older_neighbours_in_the_folder(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    oldest, middle, newest = (make_email(users=[ayse]) for _ in range(3))
    context = detail(logged_in(ayse), middle, folder="inbox").context
    assert (context["newer"], context["older"]) == (newest.pk, oldest.pk)


def test_email_page_offers_reply_reply_all_and_forward(client, django_user_model):

    user = django_user_model.objects.create_user("reader", email="reader@example.com")
    email = Email.objects.create(message_id="<actions@x>", subject="Hello")
    EmailUser.objects.create(email=email, user=user)
    client.force_login(user)
    page = client.get(reverse("mailboxes:email-detail", args=[email.pk])).content.decode()
    for name in ("email-reply", "email-reply-all", "email-forward"):
        assert reverse(f"mailboxes:{name}", args=[email.pk]) in page
