"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

Fixtures for every browser test (mark them ``@pytest.mark.browser``):

- ``page``: pytest-playwright's page (screenshots of failures land in ``test-results/``).
- ``app_url(path)``: absolute URL of a path on the live server.
- ``login_as(user, password=PASSWORD)``: logs the page in through the login form.
- ``screenshot(name)``: saves a named full-page PNG into ``artifacts/screenshots/``.
- ``make_user``/``make_record`` as in tests/crm (users get the password ``PASSWORD``).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from tests.crm.conftest import (  # noqa: F401  (fixtures shared with the view tests)
    fast_password_hasher,
    make_record,
    make_user,
)
from tests.mailboxes.conftest import (  # noqa: F401  (mail accounts on the test Dovecot)
    make_group_account,
    make_personal_account,
)
from tests.mailboxes.oauth.conftest import oauth_smtp  # noqa: F401  (AUTH XOAUTH2)

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# in a thread with a running loop unless told it is safe (the test thread is not async).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery"  # what make_user gives every user
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, tmp_path_factory):
    """Debian's chromium (Playwright cannot download browsers here), with its cache and
    config in a temporary directory instead of the user's home."""
    xdg = tmp_path_factory.mktemp("xdg")
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
        "env": {**os.environ, "XDG_CACHE_HOME": str(xdg), "XDG_CONFIG_HOME": str(xdg)},
    }


@pytest.fixture
def page(transactional_db, live_server, page):
    """pytest-playwright's page, closed before the test database is emptied: a page left on a
    compose form sends its draft as it goes (the autosave's beacon), and that request must
    not meet the flush (a deadlock) or land after it."""
    yield page
    if page.is_closed():
        return
    with contextlib.suppress(Exception):
        had_autosave = page.evaluate("!!document.querySelector('form [data-autosave]')")
        page.goto("about:blank")
        if had_autosave:
            time.sleep(0.5)  # the beacon reaches the live server and is answered


@pytest.fixture
def app_url(live_server, transactional_db):
    def url(path: str) -> str:
        return live_server.url + path

    return url


@pytest.fixture
def login_as(page, app_url):
    def login(user, password: str = PASSWORD) -> None:
        page.goto(app_url("/login/"))
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("form button[type=submit]")
        page.wait_for_url(app_url("/"))

    return login


@pytest.fixture
def screenshot(page):
    """``screenshot("name")`` saves ``artifacts/screenshots/name.png`` and returns its path."""

    def take(name: str, *, full_page: bool = True) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # sticky bars belong at the top of the shot
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
