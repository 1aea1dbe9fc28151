"""API clients authenticated by key, on the CRM tests' users and records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api.keys import api_key_create
from tests.crm.conftest import fast_password_hasher, make_record, make_user  # noqa: F401
from tests.mailboxes.sending.conftest import make_smtp_group  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_key(db):
    """``api_key(user, read_only=False, expires_in=None)``: (row, key)."""

    def make(user, *, read_only: bool = False, expires_in: timedelta | None = None):
        expires_at = timezone.now() + expires_in if expires_in is not None else None
        return api_key_create(user=user, name="test", read_only=read_only, expires_at=expires_at)

    return make


@pytest.fixture
def api_client(api_key):
    """``api_client(user, **key_options)``: a client sending that user's new key."""

    def make(user, **options) -> APIClient:
        _row, raw = api_key(user, **options)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
