"""The zero-setup installation's files under ``var/``: folders and development keys.

Settings only read these (``read_local_key``); ``manage.py local_setup`` writes them, so that
importing the settings has no side effects and a production machine never invents keys.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# var/ sub-folders the embedded default uses: the filesystem Celery broker and fetch locks.
LOCAL_FOLDERS = ("broker/queue", "broker/processed", "broker/control", "locks")


def read_local_key(var_dir: Path, name: str) -> str:
    """The key kept in ``var_dir/name``, or "" when there is none."""
    try:
        return (var_dir / name).read_text().strip()
    except FileNotFoundError:
        return ""


def _new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def _new_encryption_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


LOCAL_KEYS = {"secret_key": _new_secret_key, "encryption_key": _new_encryption_key}


def local_setup(var_dir: Path) -> list[str]:
    """Create ``var_dir``, its folders and any missing development key (mode 600).

    Existing keys are never replaced: stored passwords stay readable. Returns the names of the
    keys written now.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    for folder in LOCAL_FOLDERS:
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in LOCAL_KEYS.items():
        path = var_dir / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        written.append(name)
    return written
