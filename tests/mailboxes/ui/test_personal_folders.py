"""Users keep their own folders; administrators keep the group folders."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.models import EmailFolder, EmailUser, GroupEmailFolder

pytestmark = pytest.mark.django_db


def test_user_creates_renames_and_deletes_a_folder(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    client = logged_in(ayse)
    client.post(reverse("mailboxes:folder-manage"), {"name": "Projects", "order": 0})
    folder = EmailFolder.objects.get(user=ayse)
    assert folder.name == "Projects"
    duplicate = client.post(reverse("mailboxes:folder-manage"), {"name": "projects", "order": 1})
    assert "already have a folder" in duplicate.content.decode()

    client.post(reverse("mailboxes:folder-edit", args=[folder.pk]), {"name": "Clients", "order": 2})
    folder.refresh_from_db()
    assert folder.name == "Clients"

    email = make_email(users=[ayse])
    EmailUser.objects.filter(user=ayse).update(folder=folder)
    page = client.get(reverse("mailboxes:inbox")).content.decode()
    assert "Clients" in page
    client.post(reverse("mailboxes:folder-delete", args=[folder.pk]))
    assert not EmailFolder.objects.exists()
    row = EmailUser.objects.get(user=ayse, email=email)
    assert row.folder is None  # back in the Inbox


def test_admin_manages_group_folders(make_user, logged_in, team):
    client = logged_in(make_user("root", admin=True))
    client.post(
        reverse("mailboxes:group-folder-create"),
        {"name": "Support", "order": 0, "teams": [team.pk]},
    )
    folder = GroupEmailFolder.objects.get()
    assert list(folder.teams.all()) == [team]
    assert "Support" in client.get(reverse("mailboxes:group-folder-list")).content.decode()
    client.post(reverse("mailboxes:group-folder-delete", args=[folder.pk]))
    assert not GroupEmailFolder.objects.exists()
