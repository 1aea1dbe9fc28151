"""Just enough IMAP over asyncio streams for the IDLE watcher.

The watcher holds one connection per monitored folder, a thousand and more in one process;
a thread and an ``IMAPClient`` each cost too much at that count (issue 15), so the watcher
runs them all on one asyncio event loop with this client. It speaks only what watching
needs: the greeting, CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE XOAUTH2, EXAMINE, IDLE/DONE
and LOGOUT (RFC 3501, RFC 2177). Fetching stays with ``IMAPClient`` (mailboxes/intake).

Hand-written because the one maintained asyncio IMAP library (aioimaplib) is GPL-3.0-only
and has no STARTTLS. Errors are imapclient's exception types, so
``mailboxes.connection.imap.connection_error`` words them as for every other connection.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imap_utf7 import encode as encode_folder_name

# Reads of TLS data on the event loop: asyncio keeps a buffer of this size per connection
# (256 kB by default, 256 MB for 1,000 connections). A TLS record holds at most 16 kB.
TLS_READ_BUFFER = 16 * 1024
NEW_MAIL_MARKERS = (b"EXISTS", b"RECENT")
# After news of mail, what else the server says this soon belongs to the same news.
NOTIFICATION_SETTLE_SECONDS = 0.02
# A connection that stays silent this long is probed by the kernel (TCP keep-alive), so a
# server that vanished without closing is noticed within minutes, not at the IDLE renewal.
KEEPALIVE_IDLE_SECONDS = 240
KEEPALIVE_INTERVAL_SECONDS = 30
KEEPALIVE_PROBES = 4

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_CODE_NUMBER = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]")
_EXISTS = re.compile(rb"^\* (\d+) EXISTS", re.IGNORECASE)
_ATOM_UNSAFE = re.compile(rb'[\x00-\x20\x7f-\xff(){%*"\\\]]')


@dataclass(frozen=True)
class FolderState:
    """What EXAMINE says of a folder."""

    uidvalidity: int | None
    uidnext: int | None
    exists: int | None


def use_small_tls_buffers() -> None:
    """Make asyncio read TLS in ``TLS_READ_BUFFER`` pieces instead of 256 kB ones.

    asyncio allocates (and touches) its read buffer per TLS connection; for a process that
    holds a thousand idle ones that alone is 256 MB. Called by the IDLE watcher's loop.
    """
    from asyncio import sslproto

    sslproto.SSLProtocol.max_size = min(sslproto.SSLProtocol.max_size, TLS_READ_BUFFER)


class AsyncImap:
    """One IMAP connection. ``await AsyncImap.open(...)`` gives it greeted and ready."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.capabilities: set[bytes] = set()
        self._tag = 0
        self._idle_tag: bytes | None = None  # the IDLE command in progress

    @classmethod
    async def open(
        cls,
        address: str,
        port: int,
        *,
        server_hostname: str,
        implicit_tls: bool,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
    ) -> AsyncImap:
        """Connect to ``address`` (already checked by the caller), TLS first when
        ``implicit_tls``; ``server_hostname`` is what the certificate must name."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                address,
                port,
                ssl=ssl_context if implicit_tls else None,
                server_hostname=server_hostname if implicit_tls else None,
            ),
            timeout,
        )
        _keep_alive(writer.get_extra_info("socket"))
        client = cls(reader, writer, timeout)
        try:
            greeting = await client._line()
            if not greeting.startswith((b"* OK", b"* PREAUTH")):
                raise IMAPClientError(f"unexpected greeting: {_text(greeting)}")
            client._note_capabilities(greeting)
        except BaseException:
            client.close()
            raise
        return client

    # --- the commands the watcher uses -----------------------------------------------------

    async def capability(self) -> set[bytes]:
        untagged, _ok = await self.command(b"CAPABILITY")
        for line in untagged:
            self._note_capabilities(line)
        return self.capabilities

    def has_capability(self, name: str) -> bool:
        return name.upper().encode() in self.capabilities

    async def starttls(self, ssl_context: ssl.SSLContext, server_hostname: str) -> None:
        await self.command(b"STARTTLS")
        await asyncio.wait_for(
            self.writer.start_tls(ssl_context, server_hostname=server_hostname), self.timeout
        )
        self.capabilities.clear()  # what was said before TLS no longer counts (RFC 3501)
        await self.capability()

    async def login(self, username: str, password: str) -> None:
        try:
            _untagged, ok = await self.command(b"LOGIN", username.encode(), password.encode())
        except IMAPClientError as exc:
            raise LoginError(str(exc)) from None
        self._note_capabilities(ok)

    async def authenticate_xoauth2(self, username: str, token: str) -> None:
        """SASL XOAUTH2 (Google, Microsoft): the user and bearer token, base64, after ``+``."""
        initial = base64.b64encode(f"user={username}\x01auth=Bearer {token}\x01\x01".encode())
        tag = self._send(b"AUTHENTICATE XOAUTH2")
        answered = False
        while True:
            line = await self._line()
            if line.startswith(b"+"):
                # the first challenge asks for the token; a second one carries the error,
                # which the client acknowledges with an empty line before the NO
                self._write((b"" if answered else initial) + b"\r\n")
                answered = True
            elif line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                    raise LoginError(_text(line[len(tag) + 1 :]))
                self._note_capabilities(line)
                return

    async def examine(self, folder: str) -> FolderState:
        """Open ``folder`` read-only (IDLE watches the opened folder)."""
        untagged, ok = await self.command(b"EXAMINE", encode_folder_name(folder))
        numbers: dict[bytes, int] = {}
        exists = None
        for line in [*untagged, ok]:
            for name, value in _CODE_NUMBER.findall(line):
                numbers[name] = int(value)
            match = _EXISTS.match(line)
            if match:
                exists = int(match.group(1))
        return FolderState(numbers.get(b"UIDVALIDITY"), numbers.get(b"UIDNEXT"), exists)

    async def idle(self) -> None:
        """Start IDLE; returns once the server agreed (``+``)."""
        self._idle_tag = self._send(b"IDLE")
        while True:
            line = await self._line()
            if line.startswith(b"+"):
                return
            if line.startswith(self._idle_tag + b" "):
                raise IMAPClientError(f"IDLE refused: {_text(line)}")

    async def idle_wait(self, timeout: float) -> bool:
        """Wait in IDLE up to ``timeout`` seconds; True as soon as the server tells of new
        mail in the folder (what it says in the same breath, ``* 1 RECENT`` after
        ``* 1 EXISTS``, is taken with it), False when the time is up. Raises when the
        server says BYE or the connection ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        new_mail = False
        while (remaining := deadline - loop.time()) > 0:
            try:
                line = await self._line(remaining)
            except TimeoutError:
                break
            if line.startswith(b"* BYE"):
                raise IMAPClientError(f"the server ended the session: {_text(line)}")
            parts = line.split(b" ", 3)
            if len(parts) >= 3 and parts[0] == b"*" and parts[2].upper() in NEW_MAIL_MARKERS:
                new_mail = True
                deadline = min(deadline, loop.time() + NOTIFICATION_SETTLE_SECONDS)
        return new_mail

    async def idle_done(self) -> None:
        """End IDLE (``DONE``) and wait for the server's OK."""
        self._write(b"DONE\r\n")
        tag, self._idle_tag = self._idle_tag, None
        await self._until_tagged(tag)

    async def logout(self) -> None:
        """Say goodbye, briefly; the connection is closed whatever the server answers."""
        try:
            if self._idle_tag is not None:  # stopped while idling: the server waits for DONE
                self._write(b"DONE\r\n")
                self._idle_tag = None
            await asyncio.wait_for(self.command(b"LOGOUT"), min(self.timeout, 5))
        except (OSError, IMAPClientError, TimeoutError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.writer.close()

    # --- the protocol ------------------------------------------------------------------------

    async def command(self, name: bytes, *args: bytes) -> tuple[list[bytes], bytes]:
        """Send a command, its arguments as IMAP strings; return the untagged lines and the
        tagged OK line. A NO or BAD raises ``IMAPClientError`` with the server's words."""
        self._tag += 1
        tag = b"W%d" % self._tag
        line = tag + b" " + name
        for arg in args:
            text, literal = _astring(arg)
            line += b" " + text
            if literal is None:
                continue
            if b"LITERAL+" in self.capabilities:  # RFC 7888: no need to wait for "+"
                self._write(line + b"{%d+}\r\n" % len(literal))
            else:
                self._write(line + b"{%d}\r\n" % len(literal))
                answer = await self._line()
                if not answer.startswith(b"+"):
                    raise IMAPClientError(_text(answer))
            line = literal
        self._write(line + b"\r\n")
        return await self._until_tagged(tag)

    async def _until_tagged(self, tag: bytes) -> tuple[list[bytes], bytes]:
        untagged = []
        while True:
            line = await self._line()
            if line.startswith(tag + b" "):
                status = line[len(tag) + 1 :]
                if not status.upper().startswith(b"OK"):
                    raise IMAPClientError(_text(status))
                return untagged, line
            untagged.append(line)

    def _send(self, command: bytes) -> bytes:
        self._tag += 1
        tag = b"W%d" % self._tag
        self._write(tag + b" " + command + b"\r\n")
        return tag

    def _write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionResetError("the connection is closed")
        self.writer.write(data)

    async def _line(self, timeout: float | None = None) -> bytes:
        """One response line without CRLF, literals (``{n}``) read into it; within
        ``timeout`` (the connection's own by default)."""
        return await asyncio.wait_for(self._read_line(), timeout or self.timeout)

    async def _read_line(self) -> bytes:
        parts = []
        while True:
            try:
                chunk = await self.reader.readuntil(b"\r\n")
                match = _LITERAL.search(chunk)
                if match is None:
                    parts.append(chunk[:-2])
                    return b"".join(parts)
                parts.append(chunk[: match.start()])
                parts.append(await self.reader.readexactly(int(match.group(1))))
            except asyncio.IncompleteReadError as exc:
                raise ConnectionResetError("the server closed the connection") from exc

    def _note_capabilities(self, line: bytes) -> None:
        upper = line.upper()
        if upper.startswith(b"* CAPABILITY "):
            words = line[len(b"* CAPABILITY ") :]
        elif b"[CAPABILITY " in upper:
            start = upper.index(b"[CAPABILITY ") + len(b"[CAPABILITY ")
            words = line[start : line.index(b"]", start)]
        else:
            return
        self.capabilities = {word.upper() for word in words.split()}


def _astring(value: bytes) -> tuple[bytes, bytes | None]:
    """An atom when it may be one, else a quoted string, else a literal (RFC 3501 astring):
    ``(text, None)``, or ``(b"", literal)`` for a literal the caller announces and sends."""
    if value and not _ATOM_UNSAFE.search(value):
        return value, None
    if not re.search(rb"[\x00\r\n\x80-\xff]", value):
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"', None
    return b"", value


def _keep_alive(sock: socket.socket | None) -> None:
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE_SECONDS),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_SECONDS),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")
