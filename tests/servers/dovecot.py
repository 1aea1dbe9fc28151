"""A real Dovecot IMAP server for tests: its own config, users, ports and mail.

    with DovecotServer(make_test_certificate(tmp)) as dovecot:
        alice = dovecot.add_user("alice")
        uid = dovecot.append(alice, "INBOX", b"Subject: hi\\r\\n\\r\\nHello")
        with dovecot.client(alice) as imap:       # a logged-in imapclient.IMAPClient
            imap.select_folder("INBOX")

Behaviour worth knowing when writing tests:
- Users can be added while the server runs and log in at once (one passwd-file per user).
- A wrong password is refused at once (Dovecot normally waits 0.5-2 s and more).
- Folders use ``/`` as separator; Sent, Drafts, Trash, Junk and Archive exist with their
  SPECIAL-USE flags. Capabilities include IDLE, CONDSTORE, QRESYNC, UIDPLUS, MOVE.
- IDLE clients hear of new mail (``* N EXISTS``) about 0.5 s after it arrives: Dovecot
  batches notifications. Wait for it; don't sleep a fixed time.
- Mail is maildir under the server's temporary directory; ``stop()`` removes everything.
- With ``oauth_introspection_url`` (the test OAuth server's) users also log in with XOAUTH2
  or OAUTHBEARER and an access token: Dovecot asks that URL (``GET``, ``Authorization:
  Bearer``) at every login, no cache, and takes the token only when it is active and its
  ``username`` is the login name. Such users are named by address:
  ``add_user("o", domain="example.test")``.
The facts behind the config are in ../shared/SERVICES.md (Dovecot 2.3).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

# starting Dovecot is the benchmarks' code too (they must not import the tests)
from bench.dovecot import dovecot_command, greets, mail_owner, run_as_config

from .ports import free_port
from .tls import TestCertificate

# A message to append: raw bytes, or a dict in imapclient's MULTIAPPEND form
# ({"msg": bytes, "flags": (...), "date": datetime}).
Message = bytes | dict[str, Any]

SPECIAL_USE_FOLDERS = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}

CONFIG_TEMPLATE = """\
# Written by tests/servers/dovecot.py for one test session.
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = postaci-test-{token}
listen = 127.0.0.1
protocols = imap
{users_section}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login{oauth_mechanisms}
disable_plaintext_auth = no
# No auth cache: a revoked token or a changed password is refused at the next login.
auth_cache_size = 0
# Failed logins: no 2 s delay and no growing per-IP penalty (anvil-auth-penalty below).
auth_failure_delay = 0
# No chroots: the same config then also runs as a normal user (a test server needs no jail).
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
# Answer failed logins at once (instead of on Dovecot's 0.5 s failure timer): a first passdb
# that authenticates nobody but sets the nodelay field, which failures keep.
passdb {{
  driver = static
  args = noauthenticate nodelay=yes
}}
{oauth_passdb}
# One passwd-file per user: Dovecot checks a passwd-file for changes at most once a second,
# but reads a file it has not seen before at once, so new users can log in immediately.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_fsync = never
# IDLE hears of new mail through inotify; where a change goes unnoticed Dovecot looks
# again only every 30 s by default, longer than any test waits (seen on a fresh machine:
# the IDLE tests failed in 2 of 3 runs, and passed 4 of 4 with this).
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
{special_use}
}}
"""

# With an OAuth server: XOAUTH2 and OAUTHBEARER logins, each token checked by asking the
# server's introspection endpoint (GET with ``Authorization: Bearer``); only the mechanisms
# that carry a token use this passdb, so password users are untouched.
OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/oauth2.conf
}}
"""

OAUTH2_CONFIG = """\
introspection_mode = auth
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


@dataclass(frozen=True)
class ImapUser:
    """A mailbox on the test server."""

    username: str
    password: str

    @property
    def email(self) -> str:
        """The address: the user name itself when it is one (OAuth users log in by address)."""
        return self.username if "@" in self.username else f"{self.username}@example.test"


class DovecotError(RuntimeError):
    """The test Dovecot did not start or a helper command failed."""


class DovecotServer:
    """One Dovecot instance on free loopback ports, plain IMAP and IMAPS.

    Not thread-safe for ``start``/``stop``; the helpers may be called from several threads.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        certificate: TestCertificate,
        *,
        oauth_introspection_url: str | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.certificate = certificate
        self.start_timeout = start_timeout
        self.oauth_introspection_url = oauth_introspection_url
        self.directory: Path | None = None
        self.imap_port = 0
        self.imaps_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def cert_path(self) -> str:
        """The PEM certificate IMAPS presents; trust it to verify the server."""
        return self.certificate.cert_path

    @property
    def config_path(self) -> str:
        assert self.directory is not None, "server not started"
        return str(self.directory / "dovecot.conf")

    def start(self) -> DovecotServer:
        # mkdtemp gives a short path in the system temp dir: Dovecot's unix sockets live in
        # base_dir, and socket paths are limited to about 100 bytes.
        self.directory = Path(tempfile.mkdtemp(prefix="postaci-dovecot-"))
        self.directory.chmod(0o755)  # the auth process (user dovecot) reads the users file
        mail = self.directory / "mail"
        mail.mkdir()
        uid, gid = mail_owner()
        os.chown(mail, uid, gid)
        (self.directory / "users").mkdir(mode=0o755)
        last_error: Exception | None = None
        for _attempt in range(3):  # a free port may be taken between choosing and binding it
            self.imap_port, self.imaps_port = free_port(), free_port()
            self._write_config(uid, gid)
            try:
                self._launch()
                return self
            except DovecotError as error:
                last_error = error
                if "Address already in use" not in str(error):
                    break
        self.stop()
        raise last_error or DovecotError("Dovecot did not start")

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self) -> str:
        """Return Dovecot's log so far (handy in assertion messages)."""
        assert self.directory is not None, "server not started"
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write_config(self, uid: int, gid: int) -> None:
        assert self.directory is not None
        users_section = run_as_config()
        special_use = "\n".join(
            f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
            for name, flag in SPECIAL_USE_FOLDERS.items()
        )
        oauth_passdb = ""
        if self.oauth_introspection_url:
            oauth_config = self.directory / "oauth2.conf"
            oauth_config.write_text(OAUTH2_CONFIG.format(url=self.oauth_introspection_url))
            oauth_config.chmod(0o644)  # read by the auth process
            oauth_passdb = OAUTH_PASSDB.format(dir=self.directory)
        config = CONFIG_TEMPLATE.format(
            dir=self.directory,
            token=self.directory.name.rsplit("-", 1)[-1],
            users_section=users_section,
            cert=self.certificate.cert_path,
            key=self.certificate.key_path,
            imap_port=self.imap_port,
            imaps_port=self.imaps_port,
            uid=uid,
            gid=gid,
            special_use=special_use,
            oauth_mechanisms=" xoauth2 oauthbearer" if oauth_passdb else "",
            oauth_passdb=oauth_passdb,
        )
        Path(self.config_path).write_text(config)

    def _launch(self) -> None:
        assert self.directory is not None
        log_file = self.directory / "dovecot.log"
        log_file.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            dovecot_command(self.config_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
                self._process = None
                raise DovecotError(f"Dovecot exited at start-up:\n{output}\n{self.log()}")
            if greets(self.host, self.imap_port):
                return
            time.sleep(0.02)
        self._process.kill()
        self._process.wait()
        self._process = None
        raise DovecotError(f"Dovecot did not answer within {self.start_timeout} s:\n{self.log()}")

    # --- users ------------------------------------------------------------------------------

    def add_user(
        self, prefix: str = "u", *, password: str | None = None, domain: str | None = None
    ) -> ImapUser:
        """Create a mailbox with a unique name (``<prefix>-<random>``) and a random password.

        With a *domain* the user name is an address (``<prefix>-<random>@<domain>``), as
        OAuth logins use. The user can log in at once: Dovecot reads a new user's
        passwd-file on first login.
        """
        username = f"{prefix}-{secrets.token_hex(4)}" + (f"@{domain}" if domain else "")
        password = password if password is not None else secrets.token_urlsafe(12)
        if ":" in password or "\n" in password:
            raise ValueError("passwd-file passwords cannot contain ':' or newlines")
        assert self.directory is not None, "server not started"
        path = self.directory / "users" / username
        temporary = path.with_name(f".{username}.new")
        temporary.write_text(f"{username}:{{PLAIN}}{password}\n")
        temporary.chmod(0o644)
        os.replace(temporary, path)  # atomic: Dovecot never reads a half-written file
        return ImapUser(username=username, password=password)

    # --- IMAP helpers -----------------------------------------------------------------------

    def client(self, user: ImapUser, *, ssl: bool = False, timeout: float = 10.0) -> IMAPClient:
        """Return an ``IMAPClient`` logged in as *user* (plain IMAP, or IMAPS verifying the
        test certificate). The caller closes it, or uses it as a context manager::

            with dovecot.client(user) as imap: ...
        """
        if ssl:
            client = IMAPClient(
                self.host,
                port=self.imaps_port,
                ssl=True,
                ssl_context=self.certificate.client_context(),
                timeout=timeout,
            )
        else:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
        try:
            client.login(user.username, user.password)
        except Exception:
            client.shutdown()
            raise
        return client

    def append(
        self,
        user: ImapUser,
        folder: str,
        message: bytes,
        flags: Sequence[str | bytes] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message and return its UID."""
        with self.client(user) as imap:
            response = imap.append(folder, message, flags=flags, msg_time=msg_time)
        return _appended_uids(response)[0]

    def append_many(
        self, user: ImapUser, folder: str, messages: Iterable[Message], *, batch: int = 500
    ) -> list[int]:
        r"""Append many messages with MULTIAPPEND (RFC 3502, about 10x faster than APPEND) and
        return their UIDs in order. Items are bytes or dicts like ``{"msg": b"...",
        "flags": ["\Seen"], "date": datetime}``.
        """
        uids: list[int] = []
        pending = list(messages)
        with self.client(user) as imap:
            for start in range(0, len(pending), batch):
                # imapclient 4.1 returns (typ, data) here without checking typ.
                typ, data = imap.multiappend(folder, pending[start : start + batch])
                if typ != "OK":
                    raise DovecotError(f"MULTIAPPEND to {folder!r} failed: {typ} {data!r}")
                uids.extend(_appended_uids(data[0]))
        return uids

    def deliver(self, user: ImapUser, message: bytes, folder: str = "INBOX") -> None:
        """Deliver *message* the way an MTA would (``doveadm save``), not through IMAP."""
        result = subprocess.run(
            ["doveadm", "-c", self.config_path, "save", "-u", user.username, "-m", folder],
            input=message,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise DovecotError(f"doveadm save failed: {result.stderr.decode(errors='replace')}")

    def kick(self, user: ImapUser) -> None:
        """End every IMAP session of *user* now (``doveadm kick``): clients, IDLE ones too,
        read ``* BYE`` and then EOF. Dovecot keeps a session open after its OAuth token
        expires; Exchange Online ends it, and this is how a test plays that part."""
        result = subprocess.run(
            ["doveadm", "-c", self.config_path, "kick", user.username],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise DovecotError(f"doveadm kick failed: {result.stderr.decode(errors='replace')}")

    def create_folder(self, user: ImapUser, folder: str) -> None:
        with self.client(user) as imap:
            imap.create_folder(folder)

    def delete_folder(self, user: ImapUser, folder: str) -> None:
        with self.client(user) as imap:
            imap.delete_folder(folder)

    def folders(self, user: ImapUser) -> list[str]:
        """Return the names of all folders, as the server lists them."""
        with self.client(user) as imap:
            return [name for _flags, _delimiter, name in imap.list_folders()]

    def folder_uids(self, user: ImapUser, folder: str) -> list[int]:
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            return sorted(imap.search("ALL"))

    def flags(self, user: ImapUser, folder: str) -> dict[int, set[str]]:
        r"""Return ``{uid: {"\Seen", ...}}`` for every message in *folder* (no ``\Recent``)."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return {}
            fetched = imap.fetch(uids, ["FLAGS"])
        # \Recent only says which session saw the message first: not worth asserting on.
        return {
            uid: {_text(flag) for flag in data[b"FLAGS"]} - {"\\Recent"}
            for uid, data in fetched.items()
        }

    def fetch(self, user: ImapUser, folder: str) -> dict[int, bytes]:
        """Return ``{uid: raw message bytes}`` for every message in *folder* (flags untouched)."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return {}
            fetched = imap.fetch(uids, ["BODY.PEEK[]"])
        return {uid: data[b"BODY[]"] for uid, data in fetched.items()}

    def uidvalidity(self, user: ImapUser, folder: str) -> int:
        with self.client(user) as imap:
            return imap.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


_APPENDUID = re.compile(rb"\[APPENDUID \d+ ([\d:,]+)\]")


def _appended_uids(response: bytes) -> list[int]:
    """Read the UIDs from an APPEND response (UIDPLUS: ``[APPENDUID <validity> <uid-set>]``)."""
    match = _APPENDUID.search(response)
    if not match:
        raise DovecotError(f"no APPENDUID in {response!r}")
    uids: list[int] = []
    for part in match.group(1).split(b","):
        first, _, last = part.partition(b":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


__all__ = ["DovecotError", "DovecotServer", "ImapUser"]
