"""Turkish: the catalogue is complete and the UI speaks it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from crm.stream import note_create

PO_FILE = Path(settings.BASE_DIR) / "locale" / "tr" / "LC_MESSAGES" / "django.po"


def test_turkish_catalogue_has_no_fuzzy_or_empty_entries():
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "gettext's msgfmt is needed (make install-dev installs it)"
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(PO_FILE)],
        capture_output=True,
        text=True,
        check=False,
        env={"LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr
    assert "untranslated" not in result.stderr
    assert "translated message" in result.stderr


def test_user_language_turkish_renders_turkish(make_user, make_record, logged_in):
    me = make_user("me", level="own", language="tr", first_name="Ayşe")
    account = make_record("account", me, name="Acme")
    note_create(parent=account, author=me, body="Merhaba")
    client = logged_in(me)

    home = client.get(reverse("home")).content.decode()
    assert "Merhaba, Ayşe" in home
    assert "Hesaplar" in home and "Potansiyel Müşteriler" in home and "Fırsatlar" in home
    assert "Oturumu kapat" in home
    assert '<html lang="tr">' in home

    detail = client.get(account.get_absolute_url()).content.decode()
    assert "Takipçiler" in detail
    assert "Takibi bırak" in detail  # the creator follows the account
    assert "bu hesap kaydını oluşturdu" in detail
    assert "Paylaş" in detail

    listing = client.get(reverse("crm:account-list")).content.decode()
    assert "Yalnızca benim kayıtlarım" in listing
    assert "Yeni hesap" in listing


def test_model_choices_and_verbose_names_are_translated(make_user, make_record, logged_in):
    me = make_user("me", level="own", language="tr")
    lead = make_record("lead", me, status="in_process")
    body = logged_in(me).get(lead.get_absolute_url()).content.decode()
    assert "İşlemde" in body  # Lead.Status.IN_PROCESS
    assert "Şirket" in body  # verbose name of account_name ("company")


@pytest.mark.parametrize(
    ("header", "expected"), [("tr-TR,tr;q=0.9", "Oturum aç"), ("en", "Log in")]
)
def test_login_page_follows_the_browser_language(client, db, header, expected):
    body = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=header).content.decode()
    assert expected in body


def test_user_choice_beats_browser_language(make_user, logged_in):
    me = make_user("me", language="en")
    body = logged_in(me).get(reverse("home"), HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Accounts" in body and "Hesaplar" not in body


def test_switching_language_in_the_user_menu(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)
    client.post(reverse("crm:language"), {"language": "tr"})
    assert "Hesaplar" in client.get(reverse("home")).content.decode()
    client.post(reverse("crm:language"), {"language": "en"})
    assert "Accounts" in client.get(reverse("home")).content.decode()


def test_administration_in_turkish(make_user, logged_in):
    body = (
        logged_in(make_user("root", admin=True, language="tr"))
        .get(reverse("administration:index"))
        .content.decode()
    )
    assert "Yönetim" in body
    assert "Zamanlanmış İşler" in body
    assert "Kullanıcılar ve izinler" in body


def test_every_string_in_the_code_has_a_turkish_translation(tmp_path, settings, monkeypatch):
    """Extract the messages afresh (as makemessages does) into a copy of the catalogue: a UI
    string added without a Turkish translation shows up here as untranslated.

    makemessages writes next to the sources, so it runs in a scratch tree of links to them.
    """
    from django.core.management import call_command

    base = Path(settings.BASE_DIR)
    for name in ("config", "crm", "mailboxes", "cases", "filters", "templates", "static"):
        (tmp_path / name).symlink_to(base / name, target_is_directory=True)
    copy = tmp_path / "locale" / "tr" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    shutil.copy(PO_FILE, copy / "django.po")
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["tr"], symlinks=True, no_obsolete=True, verbosity=0)
    result = subprocess.run(
        [shutil.which("msgfmt"), "--statistics", "-o", "/dev/null", str(copy / "django.po")],
        capture_output=True,
        text=True,
        check=False,
        env={"LC_ALL": "C"},
    )
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
