"""200 MB through the whole connector (routes, services, gateway) in both directions, with the
connector's memory measured: it stays flat. moto runs in a process of its own, and the ASGI
app is driven directly, chunk by chunk, so that neither holds the body in this process."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from support.aws_world import connect_alice, headers
from support.moto_process import moto_server_process
from support.oauth_world import CognitoWorld, Instance

from connector.adapters import s3_gateway
from connector.app import create_app

MB = 1 << 20
SIZE = 200 * MB
CHUNK = 64 * 1024  # what an ASGI server such as uvicorn hands over at a time
# Generous: a part being filled (8 MiB) and the one before it in its worker thread, a few read
# chunks, and what httpx / botocore keep per request. The body itself is 25 times this.
PEAK_BOUND = 40 * MB  # measured here: 17.4 MB up, 3.4 MB down


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """Overrides the in-process server of tests/e2e/conftest.py for this module."""
    with moto_server_process() as endpoint:
        yield endpoint


def chunks() -> Iterator[bytes]:
    """SIZE bytes, every chunk distinct (a dropped or repeated chunk changes the digest)."""
    block = bytearray(CHUNK)
    for n in range(SIZE // CHUNK):
        block[:8] = n.to_bytes(8, "big")
        yield bytes(block)


def expected_digest() -> str:
    digest = hashlib.sha256()
    for chunk in chunks():
        digest.update(chunk)
    return digest.hexdigest()


class Exchange:
    """One HTTP exchange with an ASGI app: the request body is produced as it is read, the
    response body hashed as it arrives; neither is ever held whole."""

    def __init__(
        self,
        method: str,
        path: str,
        request_headers: dict[str, str],
        *,
        hang_up_after: int | None = None,
    ) -> None:
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in request_headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.status = 0
        self.headers: dict[str, str] = {}
        self.digest = hashlib.sha256()
        self.size = 0
        self.body = bytearray()  # kept only for small (error) answers
        self._body: Iterator[bytes] = iter(())
        self._ended = False
        self._finished = asyncio.Event()
        self._hang_up_after = hang_up_after

    async def run(self, app: Litestar, body: Iterator[bytes] | None = None) -> Exchange:
        self._body = body or iter(())
        await app(self.scope, self._receive, self._send)  # type: ignore[arg-type]
        return self

    async def _receive(self) -> dict[str, Any]:
        chunk = next(self._body, None)
        if chunk is not None:
            return {"type": "http.request", "body": chunk, "more_body": True}
        if not self._ended:
            self._ended = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # The client stays until the whole answer has arrived, then hangs up.
        await self._finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            data = message.get("body", b"")
            self.digest.update(data)
            self.size += len(data)
            if self.size <= MB:
                self.body += data
            hung_up = self._hang_up_after is not None and self.size >= self._hang_up_after
            if hung_up or not message.get("more_body", False):
                self._finished.set()  # the client leaves (or has it all)


async def test_200_mb_up_and_down_keeps_the_connectors_memory_flat(
    world: CognitoWorld, replica: Instance
) -> None:
    await connect_alice(world, replica)
    alice = headers(await world.key(replica, "s3:read", "s3:write"))
    app = create_app(world.settings, container=replica.container)
    path = "/s3/buckets/alice-data/objects/huge.bin"
    # Warm up: clients, service models and credentials exist before measuring.
    warm = await Exchange("PUT", "/s3/buckets/alice-data/objects/warm", alice).run(
        app, iter([b"x"])
    )
    assert warm.status == 200, bytes(warm.body)

    tracemalloc.start()
    try:
        up = await Exchange("PUT", path, {**alice, "Content-Length": str(SIZE)}).run(app, chunks())
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        down = await Exchange("GET", path, alice).run(app)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert up.status == 200, bytes(up.body)
    assert (down.status, down.size) == (200, SIZE)
    assert down.headers["content-length"] == str(SIZE)
    assert down.digest.hexdigest() == expected_digest()
    assert upload_peak < PEAK_BOUND, f"upload peak {upload_peak / MB:.1f} MB"
    assert download_peak < PEAK_BOUND, f"download peak {download_peak / MB:.1f} MB"


async def test_downloads_abandoned_mid_stream_give_their_connections_back(
    world: CognitoWorld, replica: Instance, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients that hang up mid-download: each S3 body is closed (its connection goes back to
    botocore's pool), and more of them than the pool holds leave downloads working."""
    closed = 0
    real_close = s3_gateway._Body._close

    def counting_close(body: Any) -> None:
        nonlocal closed
        closed += body._closed is False
        real_close(body)

    monkeypatch.setattr(s3_gateway._Body, "_close", counting_close)
    await connect_alice(world, replica)
    alice = headers(await world.key(replica, "s3:read"))
    aws["s3"].put_object(Bucket="alice-data", Key="32mb", Body=b"z" * (32 * MB))
    app = create_app(world.settings, container=replica.container)
    path = "/s3/buckets/alice-data/objects/32mb"
    pool = replica.container.aws_clients.max_pool_connections
    for _ in range(pool + 2):
        left = Exchange("GET", path, alice, hang_up_after=2 * MB)
        await asyncio.wait_for(left.run(app), timeout=30)
        assert left.status == 200
        assert left.size < 32 * MB
    whole = await asyncio.wait_for(Exchange("GET", path, alice).run(app), timeout=30)
    assert (whole.status, whole.size) == (200, 32 * MB)
    for _ in range(100):  # a cancelled read in a worker thread closes its body when it returns
        if closed == pool + 3:
            break
        await asyncio.sleep(0.05)
    assert closed == pool + 3
