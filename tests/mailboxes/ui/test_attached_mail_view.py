"""Attached emails (message/rfc822) shown as emails on the page, their files downloadable
with the outer email's permission check; the files of a winmail.dat listed under it.
Every email comes through the real intake (Dovecot) from the corpus or built here."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Attachment, Email, EmailUser
from tests.mailboxes.conftest import make_message
from tests.mailboxes.tnef_builder import build_tnef
from tests.shared import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture
def intake(dovecot, imap_user, make_group_account, make_user):
    """``intake(*raw)``: the messages through the real intake, in Ayşe's inbox; returns the
    emails by subject."""

    def run(*messages: bytes) -> dict[str, Email]:
        for raw in messages:
            dovecot.append(imap_user, "INBOX", raw)
        summary = fetch_account(make_group_account(imap_user).pk)
        assert summary.imported == len(messages) and not summary.quarantined
        ayse = make_user("ayse") if not _users("ayse") else _users("ayse")[0]
        emails = list(Email.objects.all())
        EmailUser.objects.bulk_create(
            [EmailUser(email=e, user=ayse) for e in emails], ignore_conflicts=True
        )
        return {e.subject: e for e in emails}

    return run


def _users(name):
    from crm.models import User

    return list(User.objects.filter(username=name))


def _page(client, email) -> str:
    response = client.get(reverse("mailboxes:email-detail", args=[email.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _download(client, url):
    response = client.get(url)
    return response, (b"".join(response.streaming_content) if response.status_code == 200 else b"")


def test_corpus_forward_is_shown_as_an_email_and_its_picture_downloads(
    intake, make_user, logged_in
):
    emails = intake(
        (CORPUS / "stalwart/rfc/002.eml").read_bytes(),
        (CORPUS / "sisimai/not/is-not-bounce-02.eml").read_bytes(),
    )
    ayse = _users("ayse")[0]
    client = logged_in(ayse)
    forward = emails["[Fwd: Map of Argentina with Description]"]
    [eml] = forward.attachments.all()
    page = _page(client, forward)

    assert page.count('data-testid="enclosed-message"') == 1
    shown = re.sub(r"\s+", " ", page)
    assert 'data-testid="enclosed-subject">Map of Argentina with Description<' in shown
    assert "Bill Clinton &lt;president@whitehouse.gov&gt;" in shown
    assert "A1 Gore (The Enforcer) &lt;vice-president@whitehouse.gov&gt;" in shown
    assert "I finally figured out this MIME thing." in shown
    assert 'data-testid="attachments"' not in page  # the .eml is the email shown, not a file
    picture = reverse("mailboxes:enclosed-file", args=[eml.pk, "0"])
    assert f'href="{picture}"' in page and "map_of_Argentina.gif" in page
    response, data = _download(client, picture)
    # RFC 1521's sample picture, as its base64 decodes (its "GMF8" signature is the RFC's)
    assert response.status_code == 200 and data.startswith(b"GMF8=a%") and len(data) == 288
    assert response["Content-Disposition"] == 'attachment; filename="map_of_Argentina.gif"'
    assert response["X-Content-Type-Options"] == "nosniff"
    response, data = _download(client, reverse("mailboxes:attachment", args=[eml.pk]))
    assert b"From: Bill Clinton <president@whitehouse.gov>" in data  # the .eml still downloads

    # who may not see the email gets 404 for all of it
    mehmet = make_user("mehmet")
    stranger = Client()
    stranger.force_login(mehmet)
    for url in (
        picture,
        reverse("mailboxes:enclosed-body", args=[eml.pk]),
        reverse("mailboxes:attachment", args=[eml.pk]),
    ):
        assert stranger.get(url).status_code == 404
    # paths that name nothing
    for path in ("1", "0-0", "7-1-2-3"):
        assert (
            client.get(reverse("mailboxes:enclosed-file", args=[eml.pk, path])).status_code == 404
        )

    original = emails["original as attachment"]
    assert original.auto_kind == ""  # a forward is no bounce
    shown = re.sub(r"\s+", " ", _page(client, original))
    assert "André Brás &lt;dummy@example.com&gt;" in shown
    assert 'data-testid="enclosed-subject">original<' in shown


def test_nested_forward_html_is_sanitized_and_its_inner_files_download(intake, logged_in):
    innermost = EmailMessage()
    innermost["From"] = "Muhasebe <muhasebe@tedarikci.example>"
    innermost["To"] = "ayse@example.com"
    innermost["Subject"] = "Şubat faturası"
    innermost["Date"] = "Mon, 02 Feb 2026 09:30:00 +0300"
    innermost.set_content("Fatura ektedir.")
    innermost.add_attachment(
        b"%PDF-1.4 fatura", maintype="application", subtype="pdf", filename="fatura.pdf"
    )
    inner = EmailMessage()
    inner["From"] = "Ali Veli <ali@musteri.example>"
    inner["To"] = "Destek <destek@example.test>"
    inner["Cc"] = "Zeynep <zeynep@musteri.example>"
    inner["Subject"] = "Sipariş 1042"
    inner["Date"] = "Tue, 03 Feb 2026 10:00:00 +0300"
    inner.set_content("Sipariş düz metin")
    inner.add_alternative(
        '<p onclick="steal()">Sipariş <b>1042</b></p><script>alert(1)</script>'
        '<img src="cid:logo@musteri"><img src="https://tracker.example/p.gif">',
        subtype="html",
    )
    inner.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@musteri>")
    inner.add_attachment(innermost)
    outer = EmailMessage()
    outer["From"] = "Customer <customer@example.com>"
    outer["To"] = "support@example.test"
    outer["Subject"] = "İletilen sipariş"
    outer["Message-ID"] = "<nested-forward@example.com>"
    outer.set_content("Aşağıdaki iletiye bakar mısınız?")
    outer.add_attachment(inner)
    emails = intake(outer.as_bytes())
    client = logged_in(_users("ayse")[0])
    email = emails["İletilen sipariş"]
    [eml] = email.attachments.all()
    page = re.sub(r"\s+", " ", _page(client, email))

    assert page.count('data-testid="enclosed-message"') == 2  # the forward and the one in it
    assert "Zeynep &lt;zeynep@musteri.example&gt;" in page
    assert 'data-testid="enclosed-subject">Şubat faturası<' in page
    body_url = reverse("mailboxes:enclosed-body", args=[eml.pk])
    assert f'src="{body_url}"' in page
    body = client.get(body_url)
    html = body.content.decode()
    assert "<b>1042</b>" in html
    assert "script" not in html and "onclick" not in html and "tracker.example" not in html
    assert body["Content-Security-Policy"].startswith("default-src 'none'")
    # the inline picture through a signed link, which works without the session
    src = re.search(r'<img src="([^"]+)"', html).group(1).replace("&amp;", "&")
    link = urlsplit(src)
    served = Client().get(f"{link.path}?{link.query}")
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    assert Client().get(link.path).status_code == 404

    # the file of the email inside the forwarded one: first the inner message's path
    inner_files = re.findall(rf'href="(/emails/attachments/{eml.pk}/part/(\d+-\d+)/)"', page)
    [(url, _path)] = inner_files
    response, data = _download(client, url)
    assert data == b"%PDF-1.4 fatura"
    assert response["Content-Disposition"] == 'attachment; filename="fatura.pdf"'


def test_file_names_inside_an_attached_email_cannot_inject_headers(intake, logged_in):
    # a file name with a line break, a header after it and a quote (RFC 2047 and RFC 2231)
    names = [
        '="=?utf-8?q?a=0D=0ASet-Cookie:_x=3D1=0D=0A=22.pdf?="',
        "*=utf-8''b%0D%0ASet-Cookie%3A%20y%3D2%0D%0A%22.pdf",
    ]
    files = "".join(
        f"--in\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Disposition: attachment; filename{name}\r\n\r\ndata\r\n"
        for name in names
    )
    outer = (
        "From: b@example.com\r\nTo: c@example.com\r\nSubject: adli ek\r\n"
        "Message-ID: <names@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=out\r\n\r\n"
        "--out\r\nContent-Type: text/plain\r\n\r\ny\r\n"
        "--out\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: a@example.com\r\nSubject: adlar\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=in\r\n\r\n"
        "--in\r\nContent-Type: text/plain\r\n\r\nx\r\n" + files + "--in--\r\n\r\n--out--\r\n"
    ).encode()
    emails = intake(outer)
    [eml] = emails["adli ek"].attachments.all()
    client = logged_in(_users("ayse")[0])
    for path, name in (("0", 'a Set-Cookie: x=1 \\".pdf'), ("1", 'b Set-Cookie: y=2 \\".pdf')):
        response = client.get(reverse("mailboxes:enclosed-file", args=[eml.pk, path]))
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert "Set-Cookie" not in response.headers


def test_winmail_dat_files_are_listed_under_it_and_download(intake, logged_in):
    tnef = build_tnef([("Teklif Şubat 2026.pdf", b"%PDF-1.4 teklif"), ("notlar.txt", b"n")])
    emails = intake(
        make_message(subject="Outlook", attachments=[("winmail.dat", "application/ms-tnef", tnef)])
    )
    email = emails["Outlook"]
    client = logged_in(_users("ayse")[0])
    page = _page(client, email)
    winmail = Attachment.objects.get(email=email, filename="winmail.dat")
    pdf = Attachment.objects.get(email=email, parent=winmail, filename="Teklif Şubat 2026.pdf")
    group = page.split('data-testid="unpacked-files"', 1)[1].split("</div>", 1)[0]
    assert "Files inside winmail.dat:" in group
    assert reverse("mailboxes:attachment", args=[pdf.pk]) in group and "notlar.txt" in group
    response, data = _download(client, reverse("mailboxes:attachment", args=[pdf.pk]))
    assert data == b"%PDF-1.4 teklif" and response["Content-Type"] == "application/pdf"
