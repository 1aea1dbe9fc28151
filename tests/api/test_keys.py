"""API keys: created once-shown in the profile, stored hashed, refused when revoked, expired
or read-only for writes; rate limited with Retry-After; administrators revoke anyone's."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.keys import api_key_check, api_key_revoke
from api.models import ApiKey

CASES = "/api/v1/cases/"


def test_key_is_stored_hashed_and_found_by_prefix(make_user, api_key):
    user = make_user(level="all")
    row, raw = api_key(user)
    stored = ApiKey.objects.get(pk=row.pk)
    assert raw not in {stored.hashed, stored.prefix}
    assert stored.hashed == hashlib.sha256(raw.encode()).hexdigest()
    assert api_key_check(raw) == row
    assert api_key_check(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert api_key_check("pst_nosuch_secret") is None


@pytest.mark.parametrize("header", ["Bearer {}", "Api-Key {}"])
def test_authorization_header_schemes(make_user, api_key, header):
    user = make_user(level="all")
    _row, raw = api_key(user)
    client = APIClient()
    assert client.get(CASES).status_code == 401
    client.credentials(HTTP_AUTHORIZATION=header.format(raw))
    assert client.get(CASES).status_code == 200
    other = APIClient()
    other.credentials(HTTP_API_KEY=raw)
    assert other.get(CASES).status_code == 200


def test_last_used_time_is_recorded(make_user, api_key):
    user = make_user(level="all")
    row, raw = api_key(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get(CASES)
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_revoked_and_expired_keys_are_refused(make_user, api_key):
    user = make_user(level="all")
    revoked, revoked_raw = api_key(user)
    api_key_revoke(revoked)
    _expired, expired_raw = api_key(user, expires_in=timedelta(seconds=-1))
    for raw in (revoked_raw, expired_raw):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        response = client.get(CASES)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_read_only_key_reads_but_never_writes(make_user, api_client):
    user = make_user(level="all")
    client = api_client(user, read_only=True)
    assert client.get(CASES).status_code == 200
    response = client.post(CASES, {"name": "Printer on fire"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This API key is read-only."
    writer = api_client(user)
    assert writer.post(CASES, {"name": "Printer on fire"}, format="json").status_code == 201


def test_session_needs_csrf_for_writes(make_user):
    user = make_user(level="all")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(CASES).status_code == 200
    assert client.post(CASES, {"name": "x"}, format="json").status_code == 403


def test_rate_limit_per_key_answers_429_with_retry_after(make_user, api_client, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {**rates, "api_key": "3/min"}
    }
    from api.throttling import ApiKeyRateThrottle

    ApiKeyRateThrottle.THROTTLE_RATES = {"api_key": "3/min"}
    try:
        user = make_user(level="all")
        first, second = api_client(user), api_client(user)
        assert [first.get(CASES).status_code for _ in range(3)] == [200, 200, 200]
        limited = first.get(CASES)
        assert limited.status_code == 429
        assert int(limited["Retry-After"]) > 0
        assert limited.json()["status"] == 429
        assert second.get(CASES).status_code == 200  # counted per key
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = {"api_key": rates["api_key"]}


def test_profile_page_creates_shows_once_and_revokes(make_user, client):
    user = make_user(level="all")
    client.force_login(user)
    response = client.post(
        reverse("api:key-list"), {"name": "billing", "read_only": "on", "expires_at": ""}
    )
    assert response.status_code == 200
    raw = response.context["new_key"]
    assert raw.startswith("pst_")
    assert "Your new key “billing”" in response.content.decode()  # which key it is
    key = ApiKey.objects.get(user=user)
    assert key.name == "billing" and key.read_only
    page = client.get(reverse("api:key-list")).content.decode()
    assert "billing" in page and raw not in page  # shown once
    client.post(reverse("api:key-revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_check(raw) is None


def test_profile_page_in_turkish(make_user, client):
    user = make_user(level="all", language="tr")
    client.force_login(user)
    page = client.get(reverse("api:key-list")).content.decode()
    assert "API anahtarlarım" in page


def test_user_cannot_revoke_anothers_key(make_user, api_key, client):
    owner, other = make_user(level="all"), make_user(level="all")
    row, _raw = api_key(owner)
    client.force_login(other)
    assert client.post(reverse("api:key-revoke", args=[row.pk])).status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_administrator_lists_and_revokes_any_key(make_user, api_key, client):
    owner = make_user(level="all")
    admin = make_user(admin=True)
    row, raw = api_key(owner)
    client.force_login(owner)
    assert client.get(reverse("api:admin-key-list")).status_code == 403
    client.force_login(admin)
    page = client.get(reverse("api:admin-key-list")).content.decode()
    assert row.prefix in page and str(owner) in page
    assert "Expired" not in page
    api_key(owner, expires_in=timedelta(minutes=-1))
    assert "Expired" in client.get(reverse("api:admin-key-list")).content.decode()
    client.post(reverse("api:admin-key-revoke", args=[row.pk]))
    assert api_key_check(raw) is None


def test_a_deactivated_users_keys_are_refused(make_user, api_client):
    user = make_user(level="all")
    client = api_client(user)
    assert client.get(CASES).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(CASES).status_code == 401
