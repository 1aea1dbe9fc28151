"""A real DNS server on loopback (dnslib), answering from a zone a test writes.

``DnsServer`` answers every name of its zone (BIND syntax, absolute names) authoritatively:
the records of the asked type, NOERROR without records when the name has only other types,
NXDOMAIN for a name it does not know. ``silent=True`` makes one that reads nothing and never
answers, for timeouts. The product is pointed at it with ``POSTACI_DNS_NAMESERVERS``
(the ``dns_server`` fixture does that).
"""

from __future__ import annotations

import socket
import threading

from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _ZoneResolver(BaseResolver):
    def __init__(self) -> None:
        self.records: list[RR] = []
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        qname, qtype = request.q.qname, QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((str(qname).rstrip(".").lower(), qtype))
            named = [rr for rr in self.records if rr.rname == qname]
        for rr in named:
            if QTYPE[rr.rtype] == qtype:
                reply.add_answer(rr)
        if not named:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class DnsServer:
    """``with DnsServer() as dns: dns.serve(zone_text); dns.nameserver`` → "127.0.0.1:port"."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.resolver = _ZoneResolver()
        self._server: DNSServer | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def queries(self) -> list[tuple[str, str]]:
        """``(name, type)`` of every question asked so far."""
        with self.resolver.lock:
            return list(self.resolver.queries)

    def serve(self, zone: str) -> None:
        """Answer from ``zone`` (BIND zone-file text) from now on."""
        records = RR.fromZone(zone)
        with self.resolver.lock:
            self.resolver.records = list(records)

    def start(self) -> DnsServer:
        if self.silent:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.bind(("127.0.0.1", 0))
            self.port = self._socket.getsockname()[1]
            return self
        quiet = DNSLogger(log="-request,-reply,-truncated,-error")
        self._server = DNSServer(self.resolver, address="127.0.0.1", port=0, logger=quiet)
        self.port = self._server.server.server_address[1]
        threading.Thread(
            target=self._server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server.server.server_close()
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
