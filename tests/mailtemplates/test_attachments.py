"""A template's files: uploaded and removed in its form, listed by the picker, and added to
the email when the compose form posts them (only files of templates the user may use)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mailboxes.models import Email
from mailtemplates.models import EmailTemplate

from .conftest import make_template
from .test_views import form_data

pytestmark = pytest.mark.django_db

PRICE_LIST = b"%PDF-1.4 price list\n"


def upload(name: str = "price-list.pdf", payload: bytes = PRICE_LIST) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, payload, content_type="application/pdf")


def test_files_are_stored_with_the_template_and_removed_by_ticking(alice, logged_in):
    client = logged_in(alice)
    client.post(reverse("mailtemplates:create"), form_data(attachments=[upload()]))
    template = EmailTemplate.objects.get(name="Refund")
    [stored] = template.attachments.all()
    assert (stored.filename, stored.size, stored.content_type) == (
        "price-list.pdf",
        len(PRICE_LIST),
        "application/pdf",
    )
    with default_storage.open(stored.file.name, "rb") as handle:
        assert handle.read() == PRICE_LIST

    edit = reverse("mailtemplates:edit", args=[template.pk])
    page = client.get(edit).content.decode()
    assert 'data-testid="template-files"' in page and "price-list.pdf" in page
    client.post(edit, form_data(remove_attachments=[stored.pk], attachments=[upload("b.txt")]))
    assert list(template.attachments.values_list("filename", flat=True)) == ["b.txt"]


def test_too_large_files_are_refused(alice, logged_in, settings):
    settings.POSTACI_MAX_MESSAGE_SIZE = 10
    response = logged_in(alice).post(
        reverse("mailtemplates:create"), form_data(attachments=[upload()])
    )
    assert "The attachments are too large to send." in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_picker_render_lists_the_templates_files(alice, logged_in):
    client = logged_in(alice)
    client.post(reverse("mailtemplates:create"), form_data(attachments=[upload()]))
    template = EmailTemplate.objects.get()
    data = client.get(reverse("mailtemplates:render", args=[template.pk])).json()
    [listed] = data["attachments"]
    assert listed["filename"] == "price-list.pdf" and listed["id"] > 0
    assert data["attachment_field"] == "template_attachment"


def test_posted_template_files_join_the_draft_only_when_the_user_may_use_them(
    alice, carol, mailbox, logged_in
):
    own = make_template(alice, name="Mine")
    others = make_template(carol, name="Carol's private")
    for template, name in ((own, "price-list.pdf"), (others, "secret.pdf")):
        logged_in(template.owner).post(
            reverse("mailtemplates:edit", args=[template.pk]),
            form_data(name=template.name, attachments=[upload(name, name.encode())]),
        )
    ids = [own.attachments.get().pk, others.attachments.get().pk]
    response = logged_in(alice).post(
        reverse("mailboxes:compose"),
        {
            "from_account": mailbox.pk,
            "to": "ayse@customer.example",
            "subject": "Prices",
            "body": "Attached.",
            "template_attachment": ids,
            "action": "draft",
        },
    )
    assert response.status_code == 302
    draft = Email.objects.get(status=Email.Status.DRAFT)
    [attached] = draft.attachments.all()
    assert attached.filename == "price-list.pdf" and draft.has_attachments
    assert attached.file.name == own.attachments.get().file.name  # the same stored file


def test_files_posted_with_a_form_that_comes_back_with_an_error_are_kept(alice, mailbox, logged_in):
    client = logged_in(alice)
    client.post(reverse("mailtemplates:create"), form_data(attachments=[upload()]))
    template = EmailTemplate.objects.get()
    file_id = template.attachments.get().pk
    preview = client.get(reverse("mailtemplates:preview", args=[template.pk])).content.decode()
    assert 'data-testid="preview-files"' in preview and "price-list.pdf" in preview
    page = client.post(
        reverse("mailboxes:compose"),
        {"from_account": mailbox.pk, "to": "not an address", "template_attachment": [file_id]},
    ).content.decode()
    assert f'name="template_attachment" value="{file_id}" checked' in page
