"""A private Dovecot for the benchmarks, from requirements.txt and the Debian package alone.

Plain IMAP on a free loopback port, one passwd-file with every user (written before start,
so thousands of users cost nothing), maildir under a short temporary directory, and the
process limits raised so that thousands of clients may hold IDLE at once. IDLE sessions
are handed to Dovecot's ``imap-hibernate`` process after a few seconds, as a large
installation would do, so the server side of 1,000 IDLE connections stays small.

Facts behind the config: ../shared/SERVICES.md (Dovecot 2.3). Not the test suite's server
(tests/servers/dovecot.py needs pytest's helpers); the benchmarks must not import tests.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path

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
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
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
    """``with BenchDovecot(users=1000) as dovecot:`` — users are ``u0000``, ``u0001``, …"""

    host = "127.0.0.1"

    def __init__(self, *, users: int, tls: bool = False):
        self.directory = Path(tempfile.mkdtemp(prefix="pb-dovecot-"))
        self.users = [
            BenchUser(f"u{n:04d}", secrets.token_urlsafe(9).replace("-", "x")) for n in range(users)
        ]
        self.port = 0
        self.tls_port = 0  # implicit TLS (IMAPS) when ``tls``; its certificate: cert_path
        self.tls = tls
        self._process: subprocess.Popen | None = None

    @property
    def config_path(self) -> str:
        return str(self.directory / "dovecot.conf")

    def __enter__(self) -> BenchDovecot:
        self.directory.chmod(0o755)
        mail = self.directory / "mail"
        mail.mkdir()
        uid, gid = self._mail_owner()
        os.chown(mail, uid, gid)
        users = self.directory / "users"
        users.write_text("".join(f"{u.username}:{{PLAIN}}{u.password}\n" for u in self.users))
        users.chmod(0o644)
        self.port = _free_port()
        ssl = "ssl = no"
        if self.tls:
            self.tls_port = _free_port()
            self._make_certificate()
            ssl = f"ssl = yes\nssl_cert = <{self.cert_path}\nssl_key = <{self.directory}/key.pem"
        Path(self.config_path).write_text(
            CONFIG.format(
                dir=self.directory,
                token=self.directory.name[-8:],
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl,
                uid=uid,
                gid=gid,
            )
        )
        # one process per IMAP session, each with a few files: the default 1,024 is too few
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        command = ["dovecot", "-F", "-c", self.config_path]
        if shutil.which("setpriv"):  # Dovecot stops with the benchmark, however it ends
            command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        deadline = time.monotonic() + 15
        while not _greets(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def cert_path(self) -> str:
        return str(self.directory / "cert.pem")

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
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def deliver(self, user: BenchUser, message: bytes) -> None:
        """Deliver like an MTA (``doveadm save``), not through IMAP."""
        subprocess.run(
            ["doveadm", "-c", self.config_path, "save", "-u", user.username, "-m", "INBOX"],
            input=message,
            check=True,
            capture_output=True,
        )

    @staticmethod
    def _mail_owner() -> tuple[int, int]:
        if os.geteuid() == 0:  # Dovecot refuses to store mail as root
            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid
        return os.geteuid(), os.getegid()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False
