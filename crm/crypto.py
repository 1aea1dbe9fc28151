"""Encryption at rest for stored secrets (mailbox passwords).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; several keys in
``POSTACI_ENCRYPTION_KEY`` (newest first) let an operator rotate keys without downtime.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "POSTACI_ENCRYPTION_KEY must hold Fernet keys (urlsafe base64, 32 bytes); "
            "generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.POSTACI_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: POSTACI_ENCRYPTION_KEY changed without "
            "keeping the old key. Add the old key after the new one (comma-separated)."
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees plaintext.

    The empty string stays empty so "no password" needs no key.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
