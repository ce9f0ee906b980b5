"""A webhook receiver on 127.0.0.1 (uvicorn in a thread) that verifies every delivery with the
`standardwebhooks` library from PyPI, as a receiving app would, and answers what the test
scripts: failures first (503, 429 with Retry-After), then 200; or holds a request open."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connector.sandbox.servers import BackgroundServer
from support.servers import free_port

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of base64, a test secret


@dataclass
class Delivery:
    webhook_id: str
    timestamp: int
    signature: str
    payload: dict[str, Any]
    verified: bool
    status: int
    client_port: int = 0
    """The sender's source port on 127.0.0.1 (its process: `serve_processes.pid_of_peer`)."""
    arrived_at: float = 0.0
    """`time.monotonic()` when the request arrived (before any hold)."""


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    hold: threading.Event = field(default_factory=threading.Event)
    """While set, requests wait (a receiver that accepted and hangs) until it is cleared."""
    arrived: threading.Event = field(default_factory=threading.Event)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    """(`time.monotonic()`, sender's source port) of every request as it arrives, held or not."""

    def fail_next(self, status: int, times: int = 1, **headers: str) -> None:
        self.script.extend([(status, headers)] * times)

    @property
    def verified(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified]


def _app(receiver: Receiver, secret: str) -> Any:
    verifier = Webhook(secret)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        arrived_at = time.monotonic()
        client = scope.get("client")
        receiver.arrivals.append((arrived_at, int(client[1]) if client else 0))
        receiver.arrived.set()
        # A thread-safe flag: the test sets it from another thread and event loop.
        while receiver.hold.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        try:
            verifier.verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        status, extra = receiver.script.popleft() if receiver.script else (200, {})
        if not verified:
            status = 400
        receiver.deliveries.append(
            Delivery(
                webhook_id=headers.get("webhook-id", ""),
                timestamp=int(headers.get("webhook-timestamp", "0")),
                signature=headers.get("webhook-signature", ""),
                payload=json.loads(body),
                verified=verified,
                status=status,
                client_port=int(client[1]) if client else 0,
                arrived_at=arrived_at,
            )
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


@contextmanager
def running_receiver(secret: str = SECRET) -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hooks")
    server = BackgroundServer(_app(receiver, secret), port, name="webhook-receiver")
    server.start()
    try:
        yield receiver
    finally:
        receiver.hold.clear()
        server.stop()
