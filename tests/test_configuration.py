"""Project configuration: settings without side effects, and the keys every machine shares.

Each case runs ``manage.py`` in a child process with an environment of its own, as an
operator would start it on a machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

MANAGE = Path(settings.BASE_DIR) / "manage.py"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postaci"


def manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """``manage.py args`` with only the environment given (plus PATH and the var dir)."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "POSTACI_VAR_DIR": str(var_dir),
        "LANG": "C.UTF-8",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_the_settings_writes_nothing(tmp_path):
    var_dir = tmp_path / "var"
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={"PATH": os.environ.get("PATH", ""), "POSTACI_VAR_DIR": str(var_dir)},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not var_dir.exists()


def test_local_setup_writes_private_keys_once(tmp_path):
    var_dir = tmp_path / "var"
    first = manage("local_setup", var_dir=var_dir)
    assert first.returncode == 0, first.stderr
    keys = {name: (var_dir / name).read_text() for name in ("secret_key", "encryption_key")}
    assert all(keys.values())
    assert (var_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (var_dir / "broker" / "control").is_dir()

    manage("local_setup", var_dir=var_dir)
    assert {name: (var_dir / name).read_text() for name in keys} == keys


def test_local_sqlite_installation_checks_clean_with_its_development_keys(tmp_path):
    var_dir = tmp_path / "var"
    manage("local_setup", var_dir=var_dir)
    result = manage("check", var_dir=var_dir)
    assert result.returncode == 0, result.stderr


def test_a_command_runs_with_the_garbage_collector_on(tmp_path):
    """manage.py keeps the collector off while it starts and freezes what start-up made; the
    command itself (watchmail runs for weeks) collects as usual."""
    var_dir = tmp_path / "var"
    manage("local_setup", var_dir=var_dir)
    script = "import gc; print(gc.isenabled(), gc.get_freeze_count() > 10_000)"
    result = manage("shell", "--no-startup", "-c", script, var_dir=var_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "True True"


def test_local_sqlite_installation_without_keys_says_to_run_local_setup(tmp_path):
    result = manage("check", var_dir=tmp_path / "var")
    assert result.returncode != 0
    assert "postaci.E001" in result.stderr and "local_setup" in result.stderr


@pytest.mark.parametrize(
    ("missing", "error_id"),
    [("SECRET_KEY", "postaci.E001"), ("POSTACI_ENCRYPTION_KEY", "postaci.E002")],
)
def test_shared_database_without_a_key_is_an_error_even_with_key_files(tmp_path, missing, error_id):
    """On PostgreSQL each machine would otherwise use its own generated key: one worker could
    not decrypt the mailbox passwords another saved, and Message-IDs signed on one machine
    would not verify on another. The key files in var/ must not stand in."""
    var_dir = tmp_path / "var"
    manage("local_setup", var_dir=var_dir)
    keys = {"SECRET_KEY": "k" * 50, "POSTACI_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    del keys[missing]
    for args in (["check"], ["check", "--deploy"]):
        result = manage(*args, var_dir=var_dir, DATABASE_URL=POSTGRES_URL, **keys)
        assert result.returncode != 0, result.stdout
        assert error_id in result.stderr
        assert f"Set the {missing} environment variable" in result.stderr


def test_shared_database_with_both_keys_checks_clean(tmp_path):
    result = manage(
        "check",
        var_dir=tmp_path / "var",
        DATABASE_URL=POSTGRES_URL,
        SECRET_KEY="k" * 50,
        POSTACI_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr


def test_a_malformed_encryption_key_is_an_error(tmp_path):
    result = manage(
        "check",
        var_dir=tmp_path / "var",
        DATABASE_URL=POSTGRES_URL,
        SECRET_KEY="k" * 50,
        POSTACI_ENCRYPTION_KEY="not-a-key",
    )
    assert result.returncode != 0
    assert "postaci.E003" in result.stderr
