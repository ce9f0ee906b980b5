"""Run an ASGI app with uvicorn in a background thread, with a bounded start and stop."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from litestar.types import ASGIApp

from connector.access_log import drop_query_strings
from connector.errors import ConfigurationError

LOCALHOST = "127.0.0.1"


def ensure_free(port: int, option: str) -> None:
    """Fail early, with one line naming the option, when `port` cannot be bound on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            raise ConfigurationError(option, f"port {port} on {LOCALHOST} is in use") from None


def server_config(app: ASGIApp, port: int) -> uvicorn.Config:
    """uvicorn on 127.0.0.1, logging through the process's own setup (stdout stays clean),
    its access lines without query strings (codes and states travel there)."""
    drop_query_strings()
    return uvicorn.Config(
        app,
        host=LOCALHOST,
        port=port,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=2,
    )


class BackgroundServer:
    """One uvicorn server on 127.0.0.1 in a daemon thread (signals stay with the main thread)."""

    def __init__(self, app: ASGIApp, port: int, *, name: str) -> None:
        self._server = uvicorn.Server(server_config(app, port))
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        """Start serving; raise if the server is not accepting connections within `timeout`."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self._thread.name} did not start")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to finish its requests and exit; wait at most `timeout` seconds."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
