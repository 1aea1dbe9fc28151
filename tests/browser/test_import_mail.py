"""Importing mail in the browser: an administrator uploads an mbox built from the corpus (with a
broken message) and an .eml file into a group mailbox, a real worker imports them, the page
shows the result, in English and in Turkish."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.models import Notification
from mailboxes.models import Email, GroupEmailAccount, MailImport
from tests.mailboxes.importing import (
    BROKEN,
    NO_MESSAGE_ID,
    broken_quarantined,
    corpus_messages,
    mboxrd,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"


def _shot(page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def test_an_administrator_imports_an_mbox_and_an_eml_into_a_group_mailbox(
    page, app_url, login_as, make_user, celery_worker, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = make_user("root", admin=True)
    account = GroupEmailAccount.objects.create(name="Destek", email_address="destek@example.com")
    archive = tmp_path / "destek-2024.mbox"
    archive.write_bytes(mboxrd([*corpus_messages()[:6], BROKEN]))
    note = tmp_path / "kayit.eml"
    note.write_bytes(NO_MESSAGE_ID)

    login_as(admin)
    page.goto(app_url(f"/emails/group-accounts/{account.pk}/"))
    page.get_by_test_id("import-mail").click()
    expect(page.get_by_role("heading", name="Import mail")).to_be_visible()
    expect(page.get_by_label("Open cases for the imported mail")).not_to_be_checked()
    page.get_by_label("Files").set_input_files([str(archive), str(note)])
    _shot(page, "import-form-en")
    page.get_by_test_id("import-start").click()

    rows = page.get_by_test_id("import-list").locator("tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="destek-2024.mbox").click()
    expect(page.get_by_test_id("import-done")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("import-messages")).to_have_text("7")
    quarantined = broken_quarantined()
    expect(page.get_by_test_id("import-imported")).to_have_text(str(7 - quarantined))
    expect(page.get_by_test_id("import-quarantined")).to_have_text(str(quarantined))
    _shot(page, "import-done-en")

    done = MailImport.objects.get(file_name="kayit.eml")
    assert (done.status, done.imported) == ("done", 1)
    assert Email.objects.count() == 8 - quarantined
    assert not Notification.objects.exists()

    admin.language = "tr"
    admin.save(update_fields=["language"])
    page.reload()
    expect(page.get_by_test_id("import-done")).to_contain_text("7 ileti")
    _shot(page, "import-done-tr")
    page.get_by_test_id("import-more").click()
    expect(page.get_by_role("heading", name="Posta içe aktar")).to_be_visible()
    expect(page.get_by_test_id("import-list")).to_contain_text("Bitti")
    _shot(page, "import-list-tr")
