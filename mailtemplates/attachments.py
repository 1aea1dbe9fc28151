"""A template's files: stored with it, put in the draft when it is inserted.

The picker lists them after inserting the template (checked, to keep or drop, as a forward's
attachments are); the compose form posts ``template_attachment`` ids, which mailboxes resolves
through ``compose_files_register`` to files of templates the user may use, and the draft's
attachments point at the same stored file.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from mailboxes.models.emails import attachment_upload_to
from mailboxes.sending.compose_tools import CarriedFile
from mailtemplates.models import EmailTemplate, EmailTemplateAttachment

COMPOSE_FIELD = "template_attachment"


def template_attachments_add(template: EmailTemplate, uploads: list[UploadedFile]) -> None:
    """Store uploaded files with ``template`` (content-addressed, like an email's files)."""
    for upload in uploads:
        payload = upload.read()
        digest = hashlib.sha256(payload).hexdigest()
        row = EmailTemplateAttachment(
            template=template,
            filename=(upload.name or "attachment")[:255],
            content_type=(upload.content_type or "application/octet-stream")[:255],
            size=len(payload),
            sha256=digest,
        )
        name = attachment_upload_to(row, row.filename)
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(payload))
        row.file.name = name
        row.save()


@transaction.atomic
def template_attachments_remove(template: EmailTemplate, ids: list[int]) -> None:
    """Drop files from ``template`` (the stored file stays: emails may point at it)."""
    template.attachments.filter(pk__in=ids).delete()


def attachments_size_ok(template: EmailTemplate, uploads: list[UploadedFile], drop=()) -> bool:
    """Whether the template's files still fit in one email (``POSTACI_MAX_MESSAGE_SIZE``)."""
    kept = 0
    if template.pk:
        kept = sum(a.size for a in template.attachments.all() if a.pk not in set(drop))
    return kept + sum(u.size for u in uploads) <= settings.POSTACI_MAX_MESSAGE_SIZE


def compose_template_files(user, values: list[str]) -> list[CarriedFile]:
    """The posted template attachment ids as files to attach, only those of templates
    ``user`` may use (any other id is ignored)."""
    ids = [int(v) for v in values if str(v).isdigit()]
    rows = EmailTemplateAttachment.objects.filter(
        pk__in=ids, template__in=EmailTemplate.objects.usable_by(user)
    ).order_by("pk")
    files = []
    for row in rows:
        files.append(
            CarriedFile(
                filename=row.filename,
                content_type=row.content_type,
                size=row.size,
                sha256=row.sha256,
                file_name=row.file.name,
            )
        )
    return files
