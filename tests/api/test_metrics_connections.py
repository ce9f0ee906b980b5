"""GET /metrics reports how many connections exist in each status, counted by the store of
record (not by changes this process saw), and answers even when the store does not."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.factories import make_connection
from support.fakes import FakeConnectionStore, FixedClock

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.domain.models import ConnectionStatus
from connector.services.connection_census import ConnectionCensus
from connector.settings import Settings


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def scrape(http: httpx.AsyncClient) -> str:
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    return answer.text


def client_of(container: Container, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, container=container)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.test")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def timed_container(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    built = await build_container(settings, clock=clock)
    try:
        yield built
    finally:
        await built.close()


async def test_the_gauge_counts_the_connections_of_each_status_as_they_change(
    settings: Settings, timed_container: Container, clock: FixedClock
) -> None:
    container = timed_container
    async with client_of(container, settings) as http:
        before = samples(await scrape(http), "connector_connections")
        assert before == {(("status", "active"),): 0, (("status", "reauth_required"),): 0}

        for user_id in ("ann", "bob", "cy"):
            connection = make_connection(user_id, container.cipher)
            await container.store.put(connection, expected_version=None)
        clock.advance(60)  # past the minute a count serves
        counted = samples(await scrape(http), "connector_connections")
        assert counted == {(("status", "active"),): 3, (("status", "reauth_required"),): 0}

        connections = container.services.connections
        await connections.mark_reauth_required(await connections.get_from_store("bob"))
        await connections.delete("cy")
        cached = samples(await scrape(http), "connector_connections")
        assert cached == counted  # counted at most once a minute, however often scraped
        clock.advance(60)
        counted = samples(await scrape(http), "connector_connections")
        assert counted == {(("status", "active"),): 1, (("status", "reauth_required"),): 1}
        # The change counter counts changes, not connections.
        changes = samples(await scrape(http), "connector_connection_changes_total")
        assert changes[(("status", "reauth_required"),)] >= 1


class SilentStore(FakeConnectionStore):
    """A store that never answers a count (a database that hangs)."""

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class BrokenStore(FakeConnectionStore):
    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        raise OSError("connection refused")


@pytest.mark.parametrize(
    ("store", "reason"), [(SilentStore(), "timeout"), (BrokenStore(), "error")]
)
async def test_a_scrape_answers_without_the_gauge_when_the_store_cannot_count(
    settings: Settings,
    container: Container,
    store: FakeConnectionStore,
    reason: str,
) -> None:
    census = ConnectionCensus(store, container.clock, timeout=0.2)
    services = dataclasses.replace(container.services, census=census)
    async with client_of(dataclasses.replace(container, services=services), settings) as http:
        text = await scrape(http)
        again = await scrape(http)
    await census.close()
    assert samples(text, "connector_connections") == {}
    assert "connector_requests_total" in text  # the rest of the scrape is there
    failed = samples(again, "connector_connection_count_failures_total")
    assert failed[(("reason", reason),)] >= 2
