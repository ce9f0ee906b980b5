"""Ports and local servers the suites share: one `free_port`, one moto starter, and upstreams
that misbehave (a black hole, a paced HTTP server)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts every connection and reads whatever comes, and
    never answers: an endpoint that hangs (a dead load balancer, a partitioned network)."""

    def __init__(self) -> None:
        self._listener = socket.create_server((LOCALHOST, 0))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="black-hole", daemon=True)
        self.accepted = 0
        self.received = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close every connection (clients still waiting then see it closed) and the listener."""
        self._stopping.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                if key.fileobj is self._listener:
                    with contextlib.suppress(BlockingIOError):
                        accepted, _ = self._listener.accept()
                        accepted.setblocking(False)
                        self._selector.register(accepted, selectors.EVENT_READ)
                        self.accepted += 1
                    continue
                peer: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = peer.recv(65536)
                except OSError:
                    data = b""
                self.received += len(data)
                if not data:  # the client gave up
                    self._selector.unregister(peer)
                    peer.close()


@contextmanager
def black_hole() -> Iterator[BlackHole]:
    """A BlackHole for the block; its connections are closed afterwards."""
    hole = BlackHole()
    hole.start()
    try:
        yield hole
    finally:
        hole.stop()


@dataclass(frozen=True)
class Pacing:
    """How a PacedHttpServer sends its one answer's body: `piece` bytes every `pause`
    seconds, going silent for good (connection open) after `stall_after` bytes if given."""

    body: bytes
    piece: int
    pause: float
    stall_after: int | None = None


class _PacedHandler(socketserver.BaseRequestHandler):
    server: PacedHttpServer

    def handle(self) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            data = self.request.recv(65536)
            if not data:
                return
            received += data
        pacing, stopping = self.server.pacing, self.server.stopping
        head = [
            "HTTP/1.1 200 OK",
            f"Content-Length: {len(pacing.body)}",
            *(f"{name}: {value}" for name, value in self.server.headers.items()),
        ]
        with contextlib.suppress(OSError):
            self.request.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for start in range(0, len(pacing.body), pacing.piece):
                if pacing.stall_after is not None and start >= pacing.stall_after:
                    stopping.wait()
                    return
                self.request.sendall(pacing.body[start : start + pacing.piece])
                if stopping.wait(pacing.pause):
                    return


class PacedHttpServer(socketserver.ThreadingTCPServer):
    """Answers every request with 200, `headers` and a body sent as `pacing` says: a slow but
    steady upstream, or one that stops in the middle of a body."""

    daemon_threads = True

    def __init__(self, pacing: Pacing, headers: dict[str, str]) -> None:
        super().__init__((LOCALHOST, 0), _PacedHandler)
        self.pacing, self.headers = pacing, headers
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.server_address[1]}"


@contextmanager
def paced_http_server(pacing: Pacing, headers: dict[str, str]) -> Iterator[PacedHttpServer]:
    server = PacedHttpServer(pacing, headers)
    thread = threading.Thread(target=server.serve_forever, name="paced-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
