"""Ports and local servers the suites share: one `free_port`, one moto starter."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

LOCALHOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1: every probe stays bound until all are chosen."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((LOCALHOST, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    """One free port (nothing listens there once the probe is closed: also a closed port)."""
    return free_ports(1)[0]


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOCALHOST, port)) == 0


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in a thread, on a port the OS picks (no probe-then-bind race); yields its URL."""
    server = ThreadedMotoServer(ip_address=LOCALHOST, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
