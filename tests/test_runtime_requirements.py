"""The runtime requirements alone run Postaci as the README's production setup describes.

A fresh virtualenv gets ``requirements.txt`` only (the dev requirements once hid a missing
``packaging``: kombu's Redis transport imports it), then: ``pip check``, ``check --deploy``
with production settings, a Celery worker on Redis performing one real fetch from the test
Dovecot, and gunicorn serving the login page. Nothing of the test virtualenv is on their path.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from mailboxes.models import Email
from tests.mailboxes.conftest import make_group_account, make_message  # noqa: F401 (fixture)
from tests.servers import celery_worker as celery_testing
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory) -> Path:
    """A virtualenv with ``requirements.txt`` and nothing else, made once per session."""
    venv = tmp_path_factory.mktemp("runtime-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", "-r", ROOT / "requirements.txt"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What an operator sets (README, "Running it in production"), and no more."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        POSTACI_ENCRYPTION_KEY=",".join(settings.POSTACI_ENCRYPTION_KEYS),
        POSTACI_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=celery_testing.redis_url(),
        ALLOWED_HOSTS="crm.example.com",
        CSRF_TRUSTED_ORIGINS="https://crm.example.com",
        BEHIND_TLS_PROXY="true",
        SECURE_COOKIES="true",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        STATICFILES_STORAGE="whitenoise.storage.CompressedManifestStaticFilesStorage",
        STATIC_ROOT=str(tmp_path / "static"),
        **extra,
    )
    return env


def _run(venv: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def _process(venv: Path, *args: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A long-running command of the virtualenv, stopped (and its output shown) at the end."""
    log = open(env["POSTACI_VAR_DIR"] + f"/{args[0]}.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.seek(0)
        print(log.read())  # shown by pytest when the test failed
        log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_runtime_requirements_alone_pass_pip_check_and_the_deploy_check(runtime_venv, tmp_path):
    env = _production_env(tmp_path)
    checked = _run(runtime_venv, "pip", "check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    deploy = _run(
        runtime_venv, "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING",
        env=env,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "no issues" in deploy.stdout


def test_runtime_requirements_alone_run_a_worker_on_redis_that_fetches_mail(
    runtime_venv,
    tmp_path,
    transactional_db,
    dovecot,
    imap_user,
    make_group_account,  # noqa: F811 (the fixture imported above)
):
    account = make_group_account(imap_user)
    dovecot.append(imap_user, "INBOX", make_message(subject="Fetched by the runtime worker"))
    prefix = celery_testing.new_key_prefix("runtime")
    env = _production_env(
        tmp_path, CELERY_KEY_PREFIX=prefix, POSTACI_MAIL_HOST_ALLOWLIST="127.0.0.1,localhost"
    )
    (tmp_path / "var").mkdir()
    # not the current app: shared tasks sent later in this process (webhooks' delivery in
    # another test) would otherwise go to this test's queue, which no worker reads
    sender = Celery("runtime-test", broker=env["CELERY_BROKER_URL"], set_as_current=False)
    sender.conf.broker_transport_options = {"global_keyprefix": prefix}
    try:
        with _process(
            runtime_venv, "celery", "-A", "config", "worker", "--concurrency", "1",
            "--loglevel", "INFO", env=env,
        ) as worker:  # fmt: skip
            sender.send_task("mailboxes.fetch_account", args=[account.pk])
            fetched = wait_until(
                lambda: (
                    worker.poll() is not None
                    or Email.objects.filter(subject="Fetched by the runtime worker").exists()
                ),
                timeout=90,
            )
            assert worker.poll() is None, "the worker stopped"
            assert fetched
    finally:
        sender.close()
        celery_testing.delete_keys(env["CELERY_BROKER_URL"], prefix)


def test_runtime_requirements_alone_serve_the_login_page_with_gunicorn(
    runtime_venv, tmp_path, transactional_db
):
    env = _production_env(tmp_path)
    (tmp_path / "var").mkdir()
    collected = _run(runtime_venv, "python", "manage.py", "collectstatic", "--noinput", env=env)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    port = _free_port()
    with _process(
        runtime_venv, "gunicorn", "config.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}",
        env=env,
    ) as server:  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/login/",
            headers={"Host": "crm.example.com", "X-Forwarded-Proto": "https"},
        )

        def login_page():
            if server.poll() is not None:
                return "stopped"
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status, response.read().decode()
            except OSError:
                return None

        answer = wait_until(login_page, timeout=60, interval=0.2)
        assert answer not in (None, "stopped")
        status, page = answer
        assert status == 200
        assert 'name="password"' in page and 'name="csrfmiddlewaretoken"' in page
