"""A webhook receiver on loopback (a real HTTP server in a thread) and endpoints to it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.crm.conftest import fast_password_hasher, logged_in, make_record, make_user  # noqa: F401
from tests.mailboxes.conftest import make_group_account  # noqa: F401
from tests.mailboxes.sending.conftest import make_smtp_group  # noqa: F401
from webhooks.models import WebhookEndpoint


class Receiver:
    """Records every POST (headers, body) and answers the queued status codes (then 200),
    after the queued delays."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []  # seconds to wait before answering, request by request
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                if receiver.delays:
                    time.sleep(receiver.delays.pop(0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def make_endpoint(db, receiver):
    def make(owner, events, **fields) -> WebhookEndpoint:
        values = {"name": "Billing", "url": receiver.url, "secret": "whsec-test", "owner": owner}
        return WebhookEndpoint.objects.create(events=list(events), **(values | fields))

    return make
