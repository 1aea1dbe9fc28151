"""A real HTTP(S) server on a loopback address of its own, on the standard port (80 or 443).

Settings discovery fetches ``http(s)://autoconfig.<domain>/…`` on the standard ports, so
each ``WebServer`` binds port 80 (443 with ``tls``) on a free address of 127.0.0.0/8
(127.x.y.z), which a test's DNS zone then gives to the names it serves. Binding these ports
needs root, which the test machines run as. It counts every request (``requests``) so a
test can prove that nothing was asked; ``hang=True`` makes it read the request and never
answer, ``drip=seconds`` answers in small pieces with that pause between them.
"""

from __future__ import annotations

import errno
import io
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .tls import TestCertificate


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.requests.append((self.headers.get("Host", ""), self.path))
        if owner.hang:
            owner.released.wait()
            return
        response = owner.routes.get(self.path.split("?", 1)[0], Response(b"not here", 404))
        if owner.drip:
            real, self.wfile = self.wfile, io.BytesIO()
        self.send_response(response.status)
        headers = {"Content-Type": "application/xml", **response.headers}
        headers.setdefault("Content-Length", str(len(response.body)))
        for name, value in headers.items():
            if value:  # an empty value leaves the header out
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
        if owner.drip:
            answer = self.wfile.getvalue()
            for start in range(0, len(answer), 64):
                real.write(answer[start : start + 64])
                real.flush()
                time.sleep(owner.drip)

    def log_message(self, format, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: WebServer

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up mid-answer is what some tests are about


class WebServer:
    """``with WebServer() as web: web.routes["/path"] = Response(b"…"); web.address``."""

    def __init__(
        self, *, tls: TestCertificate | None = None, hang: bool = False, drip: float = 0
    ) -> None:
        self.tls = tls
        self.hang = hang
        self.drip = drip
        self.port = 443 if tls else 80
        self.address = ""
        self.routes: dict[str, Response] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self._server: _Server | None = None

    def start(self) -> WebServer:
        for _attempt in range(50):
            address = "127." + ".".join(str(random.randint(1, 254)) for _byte in range(3))
            try:
                self._server = _Server((address, self.port), _Handler)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self.address = address
            break
        else:
            raise RuntimeError(f"no free loopback address for port {self.port}")
        self._server.owner = self
        if self.tls:
            self._server.socket = self.tls.server_context().wrap_socket(
                self._server.socket, server_side=True
            )
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
