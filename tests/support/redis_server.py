"""A private redis-server on a free port, for tests that kill, freeze and restart the cache (the
suite's shared server on 6379 is never touched)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from support.servers import LOCALHOST, free_port

START_TIMEOUT = 10.0


class RedisServer:
    """One redis-server process: `kill`, `freeze` (SIGSTOP), `thaw` (SIGCONT), `start` again on
    the same port. No persistence: a restarted server is empty."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://{LOCALHOST}:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._frozen = False

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        command = [binary, "--port", str(self.port), "--bind", LOCALHOST, "--save", ""]
        command += ["--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        self._process = subprocess.Popen(  # noqa: S603 - the local redis-server, fixed arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: connections are reset and the port refuses."""
        self.thaw()
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def freeze(self) -> None:
        """SIGSTOP: connections stay open (the kernel even accepts new ones), nothing answers."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        if self._frozen and self._process is not None:
            with suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGCONT)
        self._frozen = False


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=0.5) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started private redis-server; killed afterwards."""
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
