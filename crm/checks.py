"""Postaci's own system checks (``manage.py check``; ``runserver``, ``migrate``, ``fetchmail``
and ``watchmail`` run them, and so does a Celery worker at start).

The keys must be the same on every machine of an installation: ``SECRET_KEY`` signs sessions
and Postaci's Message-IDs (replies link by them), ``POSTACI_ENCRYPTION_KEY`` encrypts the stored
mailbox passwords. Only the zero-setup installation (local SQLite file, or DEBUG) may use the
development keys in ``var/``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

_LOCAL_HINT = "Run `manage.py local_setup` (make run does) to create the development keys in {var}."
_SHARED_HINT = (
    "Set the {name} environment variable, to the same value on every machine that runs "
    "Postaci (web, workers, beat, watchmail). The development key file in var/ is used only "
    "with the local SQLite database or DEBUG."
)


@register(Tags.security, deploy=False)
def check_keys(app_configs=None, **kwargs) -> list[Error]:
    """A missing SECRET_KEY or POSTACI_ENCRYPTION_KEY is an error, with what to do about it."""
    errors = []
    local = settings.POSTACI_LOCAL_KEYS
    for name, missing, error_id in (
        ("SECRET_KEY", not _secret_key(), "postaci.E001"),
        ("POSTACI_ENCRYPTION_KEY", not settings.POSTACI_ENCRYPTION_KEYS, "postaci.E002"),
    ):
        if not missing:
            continue
        hint = _LOCAL_HINT.format(var=settings.VAR_DIR) if local else _SHARED_HINT.format(name=name)
        errors.append(Error(f"{name} is not set.", hint=hint, id=error_id))
    if settings.POSTACI_ENCRYPTION_KEYS:
        errors += _check_fernet_keys(settings.POSTACI_ENCRYPTION_KEYS)
    return errors


def _secret_key() -> str:
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return ""


def _check_fernet_keys(keys: list[str]) -> list[Error]:
    from cryptography.fernet import Fernet

    for key in keys:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            return [
                Error(
                    "POSTACI_ENCRYPTION_KEY holds a value that is not a Fernet key.",
                    hint="Generate one with: python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())'",
                    id="postaci.E003",
                )
            ]
    return []
