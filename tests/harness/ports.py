"""Loopback ports: one free now, and whether one accepts connections.

A port found free can be taken by another process before the server binds it (the suite binds ports in
parallel); ``process.start_on_free_port`` starts a server again on a fresh port when that happens."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False
