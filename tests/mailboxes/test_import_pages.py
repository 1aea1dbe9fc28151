"""The import pages: upload .mbox/.eml files into a mail account, a real Celery worker imports
them, the page shows the result; who may import where."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Notification
from mailboxes.models import Email, EmailUser, GroupEmailAccount, MailImport, PersonalEmailAccount
from tests.crm.conftest import logged_in, make_user  # noqa: F401
from tests.mailboxes.importing import FROM_LINES_MESSAGE, NO_MESSAGE_ID, corpus_messages, mboxrd

pytestmark = pytest.mark.django_db(transaction=True)


def _personal(owner) -> PersonalEmailAccount:
    return PersonalEmailAccount.objects.create(
        owner=owner, name=f"{owner.username} mail", email_address=f"{owner.username}@example.com"
    )


def _group() -> GroupEmailAccount:
    return GroupEmailAccount.objects.create(name="Support", email_address="support@example.com")


def _wait_done(*imports: MailImport, timeout: float = 60) -> list[MailImport]:
    deadline = time.monotonic() + timeout
    while True:
        fresh = [MailImport.objects.get(pk=i.pk) for i in imports]
        if all(not i.is_active for i in fresh) or time.monotonic() > deadline:
            return fresh
        time.sleep(0.2)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_user_uploads_an_mbox_and_an_eml_into_their_own_mailbox(
    make_user,  # noqa: F811
    logged_in,  # noqa: F811
    media,
    celery_worker,
):
    user = make_user("deniz")
    account = _personal(user)
    client = logged_in(user)
    url = reverse("mailboxes:personal-account-import", args=[account.pk])
    assert client.get(url).status_code == 200
    mbox = mboxrd([*corpus_messages()[:3], FROM_LINES_MESSAGE])
    response = client.post(
        url,
        {
            "files": [
                SimpleUploadedFile("archive.mbox", mbox),
                SimpleUploadedFile("note.eml", NO_MESSAGE_ID),
            ],
            "open_cases": "on",  # not offered for a personal account: ignored
        },
    )
    assert response.status_code == 302 and response.url == url
    imports = list(MailImport.objects.order_by("pk"))
    assert [(i.file_name, i.user, i.open_cases) for i in imports] == [
        ("archive.mbox", user, False),
        ("note.eml", user, False),
    ]
    assert all(str(i.path).startswith(str(media / "imports")) for i in imports)

    done = _wait_done(*imports)
    assert [(i.status, i.messages, i.imported) for i in done] == [("done", 4, 4), ("done", 1, 1)]
    assert EmailUser.objects.filter(user=user).count() == Email.objects.count() == 5
    assert not Notification.objects.exists()
    assert not list((media / "imports").iterdir())  # the uploads are gone once journaled

    detail = reverse("mailboxes:personal-account-import-detail", args=[account.pk, done[0].pk])
    page = client.get(detail)
    assert page.status_code == 200 and b'data-testid="import-done"' in page.content
    assert f'hx-get="{detail}status/"'.encode() not in page.content  # finished: no polling
    listing = client.get(url).content.decode()
    assert "archive.mbox" in listing and "note.eml" in listing

    # the same archive again: nothing new
    client.post(url, {"files": [SimpleUploadedFile("archive.mbox", mbox)]})
    [again] = _wait_done(MailImport.objects.latest("pk"))
    assert (again.messages, again.imported, again.duplicates) == (4, 0, 4)
    assert Email.objects.count() == 5


def test_a_user_cannot_import_into_another_users_mailbox_or_a_group_one(
    make_user,  # noqa: F811
    logged_in,  # noqa: F811
    media,
):
    owner, other = make_user("owner"), make_user("other")
    theirs, group = _personal(owner), _group()
    client = logged_in(other)
    upload = {"files": [SimpleUploadedFile("x.eml", NO_MESSAGE_ID)]}
    personal_url = reverse("mailboxes:personal-account-import", args=[theirs.pk])
    group_url = reverse("mailboxes:group-account-import", args=[group.pk])
    assert client.get(personal_url).status_code == 404
    assert client.post(personal_url, upload).status_code == 404
    assert client.get(group_url).status_code == 403
    assert client.post(group_url, upload).status_code == 403
    theirs_import = MailImport.objects.create(account=theirs, file_name="a.mbox")
    detail = reverse("mailboxes:personal-account-import-detail", args=[theirs.pk, theirs_import.pk])
    assert client.get(detail).status_code == 404
    # an import of another account through one's own account's URL: 404 as well
    mine = _personal(other)
    crossed = reverse("mailboxes:personal-account-import-status", args=[mine.pk, theirs_import.pk])
    assert client.get(crossed).status_code == 404
    assert MailImport.objects.count() == 1
    assert not (media / "imports").exists() or not list((media / "imports").iterdir())


def test_an_administrator_imports_into_any_account(
    make_user,  # noqa: F811
    logged_in,  # noqa: F811
    media,
):
    admin, user = make_user("boss", admin=True), make_user("someone")
    client = logged_in(admin)
    group = _group()
    for url in (
        reverse("mailboxes:personal-account-import", args=[_personal(user).pk]),
        reverse("mailboxes:group-account-import", args=[group.pk]),
    ):
        assert client.get(url).status_code == 200
    page = client.get(reverse("mailboxes:group-account-import", args=[group.pk])).content
    assert b'name="open_cases"' in page  # cases are an option for a group mailbox
    detail = client.get(reverse("mailboxes:group-account-detail", args=[group.pk])).content
    assert reverse("mailboxes:group-account-import", args=[group.pk]).encode() in detail


def test_an_upload_without_the_csrf_token_is_refused_and_not_kept(
    make_user,  # noqa: F811
    media,
):
    from django.test import Client

    user = make_user("deniz")
    account = _personal(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = reverse("mailboxes:personal-account-import", args=[account.pk])
    response = client.post(url, {"files": [SimpleUploadedFile("a.eml", NO_MESSAGE_ID)]})
    assert response.status_code == 403
    assert not MailImport.objects.exists()
    assert not list((media / "imports").iterdir())  # written while read, removed when refused
