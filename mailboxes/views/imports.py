"""Importing .mbox and .eml files into a mail account (the account page's "Import mail").

Who may: whoever manages the account (mailboxes/views/accounts.py: a group account's pages
are for administrators, 403 for others; a personal account's for its owner and
administrators, 404 for anybody else). An upload is streamed to a file under
``MEDIA_ROOT/imports`` (never held in memory), becomes a ``MailImport`` and is imported by a
worker (``mailboxes.import_archive``); its page shows the progress and the result.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from kombu.exceptions import OperationalError

from mailboxes.intake.importing import mail_import_create
from mailboxes.models import MailImport
from mailboxes.views.accounts import GROUP, _account, _page_context, _url

logger = logging.getLogger(__name__)


def upload_dir() -> Path:
    """Where uploaded archives wait for their import (shared by every web and worker
    machine, like the attachments under ``MEDIA_ROOT``)."""
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ArchiveFile(UploadedFile):
    """An uploaded archive already written to its final place (``path``)."""

    def __init__(self, file, name: str, size: int, path: Path) -> None:
        super().__init__(file, name=name, size=size)
        self.path = path


class ArchiveUploadHandler(FileUploadHandler):
    """Writes each uploaded file straight to ``MEDIA_ROOT/imports`` in the chunks it arrives
    in, so a 1 GB archive never sits in memory nor in a temporary file to be copied."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.path = upload_dir() / f"{uuid.uuid4().hex}.upload"
        self.file = open(self.path, "wb")  # noqa: SIM115 (closed in file_complete)
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.write(raw_data)
        self.size += len(raw_data)
        return None

    def file_complete(self, file_size: int) -> ArchiveFile:
        self.file.close()
        return ArchiveFile(open(self.path, "rb"), self.file_name, file_size, self.path)

    def upload_interrupted(self) -> None:
        if getattr(self, "file", None) is not None:
            self.file.close()
            self.path.unlink(missing_ok=True)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".mbox,.eml,.mbx,.txt"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label=gettext_lazy("Files"),
        help_text=gettext_lazy(
            "One or more .mbox archives or .eml messages. For very large archives an "
            "administrator can run manage.py importmail on the server instead."
        ),
    )
    open_cases = forms.BooleanField(
        label=gettext_lazy("Open cases for the imported mail"),
        required=False,
        help_text=gettext_lazy(
            "Off: the mail is filed as history, without cases. Nobody is notified and no "
            "auto-reply is sent either way."
        ),
    )

    def __init__(self, *args, may_open_cases: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_open_cases:
            del self.fields["open_cases"]


def _files_remove(files) -> None:
    for upload in files:
        path = getattr(upload, "path", None)
        if path is not None:
            Path(path).unlink(missing_ok=True)


def _import_enqueue(import_ids: list[int]) -> None:
    from mailboxes.tasks import import_archive

    for import_id in import_ids:
        try:
            import_archive.delay(import_id)
        except OperationalError:  # the import stays Waiting; "Start again" queues it
            logger.exception("import: the broker refused import %s", import_id)


@csrf_exempt
@login_required
def account_import(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The account's imports and the upload form. The upload handlers must be set before the
    CSRF check reads the body, hence ``csrf_exempt`` outside and ``csrf_protect`` inside."""
    account = _account(request, kind, pk)  # 403 / 404 before a byte is read
    if request.method != "POST":
        return _account_import(request, kind, account)
    request.upload_handlers = [ArchiveUploadHandler(request)]
    response = _account_import(request, kind, account)
    if response.status_code != 302:  # refused (CSRF, an invalid form): nothing is kept
        _files_remove(request.FILES.getlist("files"))
    return response


@csrf_protect
def _account_import(request: HttpRequest, kind: str, account) -> HttpResponse:
    may_open_cases = kind == GROUP
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, may_open_cases=may_open_cases)
        if form.is_valid():
            imports = [
                mail_import_create(
                    account=account,
                    path=upload.path,
                    file_name=os.path.basename(upload.name or "upload"),
                    user=request.user,
                    open_cases=form.cleaned_data.get("open_cases", False),
                )
                for upload in form.cleaned_data["files"]
            ]
            ids = [mail_import.pk for mail_import in imports]
            transaction.on_commit(lambda: _import_enqueue(ids))
            messages.success(
                request,
                _("The import has started; this page shows how it goes."),
            )
            if len(imports) == 1:
                return redirect(_url(kind, "import-detail", account.pk, imports[0].pk))
            return redirect(_url(kind, "import", account.pk))
    else:
        form = ImportForm(may_open_cases=may_open_cases)
    context = _page_context(request, kind)
    context.update(
        account=account,
        form=form,
        imports=MailImport.objects.filter(account_id=account.pk).select_related("user")[:50],
        detail_url=_url(kind, "detail", account.pk),
        import_url=_url(kind, "import", account.pk),
    )
    return render(request, "mailboxes/import_list.html", context)


def _import_context(request: HttpRequest, kind: str, pk: int, import_pk: int) -> dict:
    account = _account(request, kind, pk)
    mail_import = get_object_or_404(
        MailImport.objects.select_related("user"), pk=import_pk, account_id=account.pk
    )  # the card names who uploaded it, polled every second while it runs
    return {
        "account": account,
        "mail_import": mail_import,
        "status_url": _url(kind, "import-status", account.pk, mail_import.pk),
        "import_url": _url(kind, "import", account.pk),
        "detail_url": _url(kind, "detail", account.pk),
    }


@login_required
def import_detail(request: HttpRequest, kind: str, pk: int, import_pk: int) -> HttpResponse:
    """One import: its progress while it runs (polled), then what it did."""
    context = _page_context(request, kind)
    context.update(_import_context(request, kind, pk, import_pk))
    return render(request, "mailboxes/import_detail.html", context)


@login_required
def import_status(request: HttpRequest, kind: str, pk: int, import_pk: int) -> HttpResponse:
    """The progress card alone (the page polls it while the import runs)."""
    return render(
        request, "mailboxes/_import_status.html", _import_context(request, kind, pk, import_pk)
    )
