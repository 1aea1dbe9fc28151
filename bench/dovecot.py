"""A private Dovecot for the benchmarks: plain IMAP on a free loopback port, users on demand.

    with BenchDovecot() as dovecot:
        user = dovecot.add_user("bench")
        dovecot.append_many(user, messages)
        with dovecot.client(user) as imap: ...

Only what a benchmark needs (no TLS, no OAuth, no special-use folders), so it runs from
``requirements.txt`` alone; the test suite's richer server is tests/servers/dovecot.py. The
facts behind the config are in ../shared/SERVICES.md (Dovecot 2.3).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = postaci-bench-{token}
listen = 127.0.0.1
protocols = imap
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
{run_as}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 10000
}}
# A file per user: Dovecot reads a passwd-file it has not seen at once (a changed one at
# most once a second), so a user added while the server runs can log in immediately.
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
"""


@dataclass(frozen=True)
class BenchUser:
    username: str
    password: str


class BenchDovecot:
    """One Dovecot process in a temporary directory, removed again on exit."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchDovecot:
        # A short path: Dovecot's unix sockets live in base_dir (about 100 bytes at most).
        self.directory = Path(tempfile.mkdtemp(prefix="postaci-bench-"))
        self.directory.chmod(0o755)  # the auth process reads the users' files
        (self.directory / "users").mkdir(mode=0o755)
        (self.directory / "mail").mkdir()
        try:
            for _attempt in range(3):  # a free port can be taken before Dovecot binds it
                self._write_config()
                if self._launch():
                    return self
            raise RuntimeError(f"Dovecot did not start:\n{self._log()}")
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
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

    def _write_config(self) -> None:
        assert self.directory is not None
        if os.geteuid() == 0:  # Dovecot will not store mail as root
            nobody = pwd.getpwnam("nobody")
            uid, gid, run_as = nobody.pw_uid, nobody.pw_gid, ""
            os.chown(self.directory / "mail", uid, gid)
        else:  # every Dovecot process runs as the current user
            uid, gid = os.geteuid(), os.getegid()
            me, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
            run_as = (
                f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                f"default_login_user = {me}\n"
            )
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        config = CONFIG.format(
            dir=self.directory,
            token=self.directory.name.rsplit("-", 1)[-1],
            run_as=run_as,
            port=self.port,
            uid=uid,
            gid=gid,
        )
        (self.directory / "dovecot.conf").write_text(config)

    def _launch(self) -> bool:
        """Start Dovecot and wait for its greeting; False when the port was taken."""
        assert self.directory is not None
        command = ["dovecot", "-F", "-c", str(self.directory / "dovecot.conf")]
        if shutil.which("setpriv"):  # Dovecot stops too if the benchmark dies
            command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                if "Address already in use" in self._log():
                    return False
                raise RuntimeError(f"Dovecot exited at start-up:\n{self._log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1) as conn,
            ):
                if conn.recv(64).startswith(b"* OK"):
                    return True
            time.sleep(0.02)
        raise RuntimeError(f"Dovecot did not answer within 10 s:\n{self._log()}")

    def _log(self) -> str:
        assert self.directory is not None
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def add_user(self, prefix: str = "bench") -> BenchUser:
        """A new, empty mailbox that can log in at once."""
        assert self.directory is not None, "Dovecot is not running"
        user = BenchUser(f"{prefix}-{secrets.token_hex(4)}", secrets.token_urlsafe(12))
        path = self.directory / "users" / user.username
        temporary = path.with_name(f".{user.username}.new")
        temporary.write_text(f"{user.username}:{{PLAIN}}{user.password}\n")
        temporary.chmod(0o644)
        os.replace(temporary, path)  # Dovecot never reads a half-written file
        return user

    def client(self, user: BenchUser) -> IMAPClient:
        """A logged-in client; close it (or use it as a context manager)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=60)
        client.login(user.username, user.password)
        return client

    def append_many(
        self, user: BenchUser, messages: Sequence[bytes], folder: str = "INBOX", batch: int = 500
    ) -> None:
        """Append with MULTIAPPEND (RFC 3502), about ten times faster than one APPEND each."""
        with self.client(user) as imap:
            for start in range(0, len(messages), batch):
                # imapclient 4.1 returns (typ, data) here without checking typ.
                typ, data = imap.multiappend(folder, messages[start : start + batch])
                if typ != "OK":
                    raise RuntimeError(f"MULTIAPPEND to {folder!r} failed: {typ} {data!r}")
