"""Free loopback ports for the test servers."""

import socket


def free_port() -> int:
    """Return a TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
