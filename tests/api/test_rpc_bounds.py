"""POST /rpc bounds that need no AWS: the calls of a batch run a few at a time, and a body
larger than the inline budget allows is refused whole, before it is read to the end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from support.envelopes import assert_envelope
from support.factories import KeyMaker
from support.fakes import FakeCache, FakeConnectionStore, FixedClock

from connector.app import create_app
from connector.bootstrap import Container
from connector.domain.models import Connection
from connector.errors import ErrorCode
from connector.services.connections import ConnectionService
from connector.services.tolerant_cache import TolerantCache
from connector.settings import RpcSettings, Settings

RPC = RpcSettings(max_object_bytes=3000, max_inline_bytes=3000, batch_concurrency=3)


class CountingStore(FakeConnectionStore):
    """Counts the reads in flight at once; each read yields to the loop a few times."""

    def __init__(self) -> None:
        super().__init__()
        self.inflight = 0
        self.most = 0

    async def get(self, user_id: str, provider: str = "default") -> Connection | None:
        self.inflight += 1
        self.most = max(self.most, self.inflight)
        for _ in range(5):
            await asyncio.sleep(0)  # let every other call that may run start meanwhile
        self.inflight -= 1
        return await super().get(user_id, provider)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
async def http(
    settings: Settings, container: Container, store: CountingStore, make_key: KeyMaker
) -> AsyncIterator[httpx.AsyncClient]:
    connections = ConnectionService(
        store, TolerantCache(FakeCache()), container.cipher, FixedClock()
    )
    bounded = replace(container, settings=replace(settings, rpc=RPC))
    bounded = replace(bounded, services=replace(container.services, connections=connections))
    key = await make_key(scopes=["connection:read"])
    transport = httpx.ASGITransport(app=create_app(bounded.settings, container=bounded))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://c.test", headers={"X-API-Key": key}
    ) as client:
        yield client


async def test_the_calls_of_a_batch_run_at_most_batch_concurrency_at_a_time(
    http: httpx.AsyncClient, store: CountingStore
) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "getConnection", "params": {"userId": f"u{n}"}, "id": n}
        for n in range(20)
    ]
    replies = (await http.post("/rpc", json=batch)).json()
    assert [r["result"]["code"] for r in replies] == ["NOT_CONNECTED"] * 20
    assert [r["id"] for r in replies] == list(range(20))
    assert store.most == RPC.batch_concurrency


async def test_a_body_past_the_request_limit_is_refused_whole(http: httpx.AsyncClient) -> None:
    limit = RPC.max_request_bytes  # 3000 bytes as base64, and 1 MiB for the rest
    assert limit == 4000 + (1 << 20)
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "getConnection", "params": {"pad": "'
    oversized = body + b"x" * (limit - len(body)) + b'"}}'
    refused = assert_envelope(
        await http.post("/rpc", content=oversized), ErrorCode.VALIDATION_ERROR, 413
    )
    assert refused.details == {"limit": limit, "use": "presign"}
    assert str(limit) in refused.error

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(oversized), 65536):
            yield oversized[start : start + 65536]

    streamed = await http.post("/rpc", content=chunks())
    assert_envelope(streamed, ErrorCode.VALIDATION_ERROR, 413)
    # One byte less is read and answered as JSON-RPC (here: an unknown param).
    within = body + b"x" * (limit - len(body) - 4) + b'"}}'
    assert (await http.post("/rpc", content=within)).json()["error"]["code"] == -32602
