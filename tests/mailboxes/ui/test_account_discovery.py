"""The settings-discovery endpoint the account forms call: who may ask, what it answers and
in which language. Discovery itself is tested in tests/mailboxes/test_discovery.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm.models import Role
from mailboxes.views.discovery import RATE_LIMIT

pytestmark = pytest.mark.django_db


def test_discover_view_returns_the_settings_with_a_message_in_the_users_language(
    make_user, logged_in
):
    url = reverse("mailboxes:account-discover")

    english = logged_in(make_user("ayse")).get(url, {"address": "ayse@icloud.com"})

    assert english.status_code == 200
    assert english.json() == {
        "found": True,
        "provider": "iCloud Mail",
        "source": "table",
        "oauth_kind": "",
        "imap": {
            "host": "imap.mail.me.com",
            "port": 993,
            "security": "ssl",
            "username": "ayse",
        },
        "smtp": {
            "host": "smtp.mail.me.com",
            "port": 587,
            "security": "starttls",
            "username": "ayse@icloud.com",
        },
        "message": "Settings found for iCloud Mail (from Postaci's list of mail providers). "
        "Check them before saving.",
    }
    turkish = logged_in(make_user("ali", language="tr")).get(url, {"address": "ali@gmail.com"})
    assert turkish.json()["oauth_kind"] == "google"
    assert turkish.json()["message"].startswith("Gmail için ayarlar bulundu")


def test_discover_view_says_when_nothing_was_found(make_user, logged_in, dns_server):
    client = logged_in(make_user("ali", language="tr"))

    response = client.get(reverse("mailboxes:account-discover"), {"address": "ali@yok.test"})

    assert response.status_code == 200
    assert response.json() == {
        "found": False,
        "message": "yok.test için ayar bulunamadı; ayarları elle girin.",
    }


def test_discover_view_refuses_strangers_and_users_without_personal_accounts(
    client, make_user, logged_in
):
    url = reverse("mailboxes:account-discover")

    anonymous = client.get(url, {"address": "ali@gmail.com"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "login"

    no_mail = Role.objects.create(name="No mailboxes", personal_email_accounts=False)
    response = logged_in(make_user("ali", roles=[no_mail])).get(url, {"address": "ali@gmail.com"})
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "message": "You may not add email accounts."}


@pytest.mark.parametrize("address", ["", "ali", "ali@", "ali@localhost", "a b@gmail.com"])
def test_discover_view_asks_for_a_complete_address(make_user, logged_in, address):
    response = logged_in(make_user("ali")).get(
        reverse("mailboxes:account-discover"), {"address": address}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "address"


def test_discover_view_slows_down_a_user_who_asks_too_often(make_user, logged_in):
    cache.clear()
    client = logged_in(make_user("ali"))
    url = reverse("mailboxes:account-discover")
    answers = [client.get(url, {"address": "ali@gmail.com"}).status_code for _ in range(RATE_LIMIT)]
    assert answers == [200] * RATE_LIMIT

    throttled = client.get(url, {"address": "ali@gmail.com"})
    assert throttled.status_code == 429 and throttled.json()["error"] == "throttled"
    other = logged_in(make_user("veli")).get(url, {"address": "veli@gmail.com"})
    assert other.status_code == 200


@pytest.mark.parametrize("url_name", ["group-account-create", "personal-account-create"])
def test_both_account_forms_ask_for_settings(make_user, logged_in, url_name):
    admin = make_user("admin", admin=True)

    page = logged_in(admin).get(reverse(f"mailboxes:{url_name}")).content.decode()

    assert f'data-discover-url="{reverse("mailboxes:account-discover")}"' in page
    assert "js/account_discovery.js" in page
