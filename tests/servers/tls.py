"""A self-signed certificate for the test servers (Dovecot IMAPS, aiosmtpd STARTTLS/SMTPS)."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestCertificate:
    """A self-signed certificate (for ``localhost`` and ``127.0.0.1`` unless told other names);
    the cert is its own CA."""

    __test__ = False  # not a test class, despite the name

    cert_path: str
    key_path: str

    def client_context(self) -> ssl.SSLContext:
        """Return a client context that trusts only this certificate (hostname checked)."""
        return ssl.create_default_context(cafile=self.cert_path)

    def server_context(self) -> ssl.SSLContext:
        """Return a server context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def make_test_certificate(
    directory: str | Path, names: tuple[str, ...] = ("localhost",)
) -> TestCertificate:
    """Write ``cert.pem`` and ``key.pem`` into *directory* with openssl (about 0.1 s): a
    certificate for the host *names* (the first is its CN) and 127.0.0.1."""
    directory = Path(directory)
    alt_names = ",".join([*(f"DNS:{name}" for name in names), "IP:127.0.0.1"])
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", f"/CN={names[0]}",
            "-addext", f"subjectAltName={alt_names}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    cert.chmod(0o644)  # Dovecot's config process reads these as root at start-up
    key.chmod(0o600)
    return TestCertificate(cert_path=str(cert), key_path=str(key))
