"""ConnectionCensus: the store's count by status, at most once per minute however often /metrics
is scraped, one count at a time, and a scrape that never fails or hangs on the store."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from support.factories import make_connection
from support.fakes import FakeConnectionStore, FixedClock

from connector.adapters.crypto import FernetCipher, generate_key
from connector.domain.models import ConnectionStatus
from connector.errors import UpstreamUnavailableError
from connector.services.connection_census import ConnectionCensus


class CountedStore(FakeConnectionStore):
    """Counts the counts; a count can be held (`gate`) or made to fail (`error`)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = 0
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        self.counts += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return await super().count_by_status()


def failures(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "connector_connection_count_failures_total", {"reason": reason}
    )
    return value or 0.0


@pytest.fixture
def store() -> CountedStore:
    store = CountedStore()
    cipher = FernetCipher((generate_key(),))
    for user_id in ("ann", "bob"):
        store.rows[user_id] = make_connection(user_id, cipher)
    store.rows["cy"] = make_connection("cy", cipher, status=ConnectionStatus.REAUTH_REQUIRED)
    return store


async def test_counts_are_made_once_per_minute_however_often_they_are_asked_for(
    store: CountedStore,
) -> None:
    clock = FixedClock()
    census = ConnectionCensus(store, clock, ttl=60)
    answers = await asyncio.gather(*(census.by_status() for _ in range(20)))
    assert answers == [{"active": 2, "reauth_required": 1}] * 20
    assert store.counts == 1

    del store.rows["ann"]
    clock.advance(59)
    assert await census.by_status() == {"active": 2, "reauth_required": 1}
    clock.advance(1)
    assert await census.by_status() == {"active": 1, "reauth_required": 1}
    assert store.counts == 2


async def test_a_store_that_does_not_answer_in_time_leaves_the_gauge_out_and_is_counted(
    store: CountedStore,
) -> None:
    store.gate = asyncio.Event()
    census = ConnectionCensus(store, FixedClock(), timeout=0.05)
    before = failures("timeout")
    assert await census.by_status() is None
    assert await census.by_status() is None
    assert failures("timeout") == before + 2
    assert store.counts == 1  # the count still running is waited for again, not started again

    store.gate.set()  # the slow count ends: its result serves the next scrape
    await asyncio.sleep(0)
    assert await census.by_status() == {"active": 2, "reauth_required": 1}
    assert store.counts == 1
    await census.close()


async def test_a_store_that_fails_leaves_the_gauge_out_is_counted_and_asked_again(
    store: CountedStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.error = UpstreamUnavailableError("database unavailable", retry_after=2)
    census = ConnectionCensus(store, FixedClock())
    before = failures("error")
    assert await census.by_status() is None
    assert failures("error") == before + 1
    assert "could not count connections by status: database unavailable" in caplog.text

    store.error = None  # a failure is not remembered: the next scrape counts again
    assert await census.by_status() == {"active": 2, "reauth_required": 1}
    assert store.counts == 2


async def test_close_stops_a_count_still_running(store: CountedStore) -> None:
    store.gate = asyncio.Event()
    census = ConnectionCensus(store, FixedClock(), timeout=0.01)
    assert await census.by_status() is None
    await census.close()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "connection census"]
