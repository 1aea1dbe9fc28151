"""Fixtures of the ops tests: a private Redis server to stop and start."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.mailboxes.conftest import make_group_account  # noqa: F401 (fixture)
from tests.mailboxes.sending.conftest import make_smtp_group  # noqa: F401 (fixture)
from tests.servers.ports import free_port
from tests.waiting import wait_until


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port (never the machine's
    6379, which other test runs use), that the test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--bind", "127.0.0.1", "--port", str(self.port)),
                *("--dir", str(self.directory), "--save", "3600 1", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        assert wait_until(lambda: self._answers(client), timeout=10), "redis did not start"
        client.close()

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # as `systemctl stop` does: it saves
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ops_mailboxes(dovecot, make_group_account):  # noqa: F811
    """Two group mailboxes as an administrator would see them: "Support" fetched through a
    real worker's fetch (two messages, one a duplicate of the other), "Sales" whose server
    refuses the password."""
    from crm.models import Team
    from tests.mailboxes.conftest import make_message

    support_user, sales_user = dovecot.add_user("support"), dovecot.add_user("sales")
    team = Team.objects.create(name="Helpdesk")
    message = make_message(subject="Where is my order?")
    dovecot.append(support_user, "INBOX", message)
    dovecot.append(support_user, "INBOX", message)  # the same Message-ID twice
    support = make_group_account(support_user, name="Support", teams=[team])
    sales = make_group_account(sales_user, name="Sales", imap_password="wrong password")
    return support, sales, team
