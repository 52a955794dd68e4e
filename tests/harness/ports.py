"""Loopback ports: one free now that no other part of the suite is handed, and whether one accepts connections.

A port a test hands to a child process (a receiver's /metrics or health port, Prometheus, rotel) is free
when picked and bound a moment later. Picked with bind(0), it came from the kernel's ephemeral range, the
range every server started on port 0 (the emulator, the OTLP sink, the other xdist worker's servers) and
every outgoing connection draws from: in between, one of them could take it, and a test then scraped a
stranger (a clean-clone run failed so). ``free_port`` therefore hands out ports below that range, a block
of its own to each xdist worker, in turn, each checked free: only a process outside the suite can take one
in between, and ``process.start_on_free_port`` starts a server again on a fresh port when that happens."""

import itertools
import os
import socket
from pathlib import Path

BLOCK = 4000  # ports per worker; the suite uses far fewer, so none comes round again while still in use
FIRST = 10_000  # above the well-known and most registered services' ports


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def worker_index() -> int:
    """0 outside xdist; n for worker gw<n>."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def worker_ports(index: int, ephemeral_low: int) -> range:
    """Worker ``index``'s block, below the ephemeral range (blocks wrap within the room there is)."""
    blocks = max(1, (ephemeral_low - FIRST) // BLOCK)
    start = FIRST + (index % blocks) * BLOCK
    return range(start, start + BLOCK)


_PORTS = worker_ports(worker_index(), ephemeral_low())
_next_port = itertools.cycle(_PORTS)


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A free loopback port of this worker's block, the next in turn."""
    for _ in range(len(_PORTS)):
        port = next(_next_port)
        if bindable(port):
            return port
    raise AssertionError(f"no free port in {_PORTS.start}..{_PORTS.stop - 1}")


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False
