"""Creating, checking and revoking API keys.

A key reads ``pst_<prefix>_<secret>``: the prefix (public, unique) finds the row, the SHA-256
of the whole key is compared in constant time. The secret has 256 random bits, so a fast hash
is as strong as a slow one here (nobody can guess through 2**256 candidates) and keeps every
request cheap; a password hasher (PBKDF2's hundreds of thousands of rounds) would cost each
API call tens of milliseconds of CPU for nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from api.models import ApiKey
from crm.models import User

KEY_PREFIX = "pst_"
# last_used_at is written at most this often per key: not one UPDATE per request
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(
    *, user: User, name: str, read_only: bool = False, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key for ``user``; returns the row and the key itself (shown once)."""
    prefix = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        hashed=_hash(raw),
        read_only=read_only,
        expires_at=expires_at,
    )
    return key, raw


def api_key_check(raw: str) -> ApiKey | None:
    """The usable key ``raw`` is, or None (unknown, wrong secret, revoked, expired)."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or f"{parts[0]}_" != KEY_PREFIX or not parts[1]:
        return None
    key = ApiKey.objects.usable().select_related("user").filter(prefix=parts[1]).first()
    if key is None or not constant_time_compare(key.hashed, _hash(raw.strip())):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(key: ApiKey) -> None:
    """Revoke ``key`` at once (kept, so its owner sees when it was revoked)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def api_keys_of(user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)
