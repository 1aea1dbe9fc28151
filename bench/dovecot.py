"""A private Dovecot for the benchmarks, from requirements.txt and the Debian package alone.

    with BenchDovecot() as dovecot:                   # users on demand (bench/intake.py)
        user = dovecot.add_user("bench")
        dovecot.append_many(user, messages)
        with dovecot.client(user) as imap: ...

    with BenchDovecot(users=1000, tls=True) as dovecot:   # u0000 … u0999 (bench/watch.py)
        dovecot.deliver(dovecot.users[0], message)         # as an MTA delivers

Plain IMAP (and IMAPS with ``tls``, its certificate at ``cert_path``) on free loopback
ports, one passwd-file per user (written before start for ``users``; one added while the
server runs can log in at once), maildir under a short temporary directory, and the process
limits raised so that thousands of clients may hold IDLE at once. IDLE sessions are handed
to Dovecot's ``imap-hibernate`` process after a few seconds, as a large installation would
do, so the server side of 1,000 IDLE connections stays small.

The benchmarks must not import the tests (they run without pytest); the test suite's server,
tests/servers/dovecot.py (TLS with the test CA, OAuth, special-use folders), starts Dovecot
with the helpers at the end of this module. Facts behind the config: ../shared/SERVICES.md
(Dovecot 2.3).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import resource
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
{ssl}
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
{run_as}
default_process_limit = 4000
default_client_limit = 20000
default_vsz_limit = 0
imap_hibernate_timeout = 5s
# Dovecot hears of new mail through inotify, one instance per IDLE session, and this
# machine allows 128 per user (fs.inotify.max_user_instances): past that it looks every
# mailbox_idle_check_interval (30 s by default), which a mail server tuned for thousands of
# IDLE clients would not. Once a second stands in for inotify here.
mailbox_idle_check_interval = 1 s
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  service_count = 0
  client_limit = 4000
  process_min_avail = 2
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service imap {{
  process_limit = 4000
  unix_listener imap-master {{
    user = $default_internal_user
  }}
}}
service imap-hibernate {{
  unix_listener imap-hibernate {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
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

    @property
    def email(self) -> str:
        return f"{self.username}@example.test"


class BenchDovecot:
    """One Dovecot process in a temporary directory, removed again on exit; ``users``
    mailboxes ``u0000``, ``u0001``, … exist from the start (``self.users``)."""

    host = "127.0.0.1"

    def __init__(self, users: int = 0, *, tls: bool = False) -> None:
        self.users = [
            BenchUser(f"u{n:04d}", secrets.token_urlsafe(9).replace("-", "x")) for n in range(users)
        ]
        self.tls = tls
        self.directory: Path | None = None
        self.port = 0
        self.tls_port = 0  # implicit TLS (IMAPS) when ``tls``; its certificate: cert_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> str:
        return str(self.directory / "dovecot.conf")

    @property
    def cert_path(self) -> str:
        return str(self.directory / "cert.pem")

    def __enter__(self) -> BenchDovecot:
        # A short path: Dovecot's unix sockets live in base_dir (about 100 bytes at most).
        self.directory = Path(tempfile.mkdtemp(prefix="pb-dovecot-"))
        self.directory.chmod(0o755)  # the auth process reads the users' files
        (self.directory / "users").mkdir(mode=0o755)
        mail = self.directory / "mail"
        mail.mkdir()
        uid, gid = mail_owner()
        os.chown(mail, uid, gid)
        for user in self.users:
            self._write_user(user)
        if self.tls:
            self._make_certificate()
        try:
            for _attempt in range(3):  # a free port can be taken before Dovecot binds it
                self._write_config(uid, gid)
                if self._launch():
                    return self
            raise RuntimeError(f"Dovecot did not start:\n{self.log()}")
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _write_config(self, uid: int, gid: int) -> None:
        self.port = free_port()
        ssl = "ssl = no"
        if self.tls:
            self.tls_port = free_port()
            ssl = f"ssl = yes\nssl_cert = <{self.cert_path}\nssl_key = <{self.directory}/key.pem"
        Path(self.config_path).write_text(
            CONFIG.format(
                dir=self.directory,
                token=self.directory.name[-8:],
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl,
                run_as=run_as_config(),
                uid=uid,
                gid=gid,
            )
        )

    def _launch(self) -> bool:
        """Start Dovecot and wait for its greeting; False when a port was taken."""
        # one process per IMAP session, each with a few files: the default 1,024 is too few
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        try:
            self._process = subprocess.Popen(
                dovecot_command(self.config_path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                if "Address already in use" in self.log():
                    return False
                raise RuntimeError(f"Dovecot exited at start-up:\n{self.log()}")
            if greets(self.host, self.port):
                return True
            time.sleep(0.02)
        raise RuntimeError(f"Dovecot did not answer within 15 s:\n{self.log()}")

    def _make_certificate(self) -> None:
        """A self-signed certificate for localhost and 127.0.0.1 (trust it by cert_path)."""
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(self.directory / "key.pem"), "-out", self.cert_path,
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def log(self) -> str:
        path = self.directory / "dovecot.log" if self.directory else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- users and mail ---------------------------------------------------------------------

    def _write_user(self, user: BenchUser) -> None:
        path = self.directory / "users" / user.username
        temporary = path.with_name(f".{user.username}.new")
        temporary.write_text(f"{user.username}:{{PLAIN}}{user.password}\n")
        temporary.chmod(0o644)
        os.replace(temporary, path)  # Dovecot never reads a half-written file

    def add_user(self, prefix: str = "bench") -> BenchUser:
        """A new, empty mailbox that can log in at once."""
        assert self.directory is not None, "Dovecot is not running"
        user = BenchUser(f"{prefix}-{secrets.token_hex(4)}", secrets.token_urlsafe(12))
        self._write_user(user)
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

    def deliver(self, user: BenchUser, message: bytes) -> None:
        """Deliver like an MTA (``doveadm save``), not through IMAP."""
        subprocess.run(
            ["doveadm", "-c", self.config_path, "save", "-u", user.username, "-m", "INBOX"],
            input=message,
            check=True,
            capture_output=True,
        )


# --- starting Dovecot (also for tests/servers/dovecot.py) ---------------------------------------


def mail_owner() -> tuple[int, int]:
    """Who owns the mail: Dovecot refuses to store it as root; as a normal user, that user."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid
    return os.geteuid(), os.getegid()


def run_as_config() -> str:
    """As a normal user every Dovecot process runs as that user (not dovecot/dovenull)."""
    if os.geteuid() == 0:
        return ""
    me = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return (
        f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
        f"default_login_user = {me}\n"
    )


def dovecot_command(config_path: str) -> list[str]:
    """Dovecot in the foreground; it stops too if the process that started it dies."""
    command = ["dovecot", "-F", "-c", config_path]
    if shutil.which("setpriv"):
        command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
    return command


def greets(host: str, port: int) -> bool:
    """Whether an IMAP server answers on ``host:port`` with its greeting."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1) as conn:
        return conn.recv(64).startswith(b"* OK")
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
