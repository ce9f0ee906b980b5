"""GET /health: ok, degraded without the cache, 503 envelope without the database."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace

import httpx
from litestar.testing import AsyncTestClient
from support.envelopes import assert_envelope

from connector import __version__
from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.errors import ErrorCode
from connector.services.health import HealthService
from connector.settings import Settings


async def test_healthy_service_reports_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"] == {
        "status": "ok",
        "version": __version__,
        "checks": {"database": "ok", "cache": "ok"},
    }


async def test_unreachable_cache_is_degraded_not_fatal(settings: Settings) -> None:
    dead_cache = replace(settings, cache=replace(settings.cache, url="redis://127.0.0.1:1/0"))
    container = await build_container(dead_cache)
    try:
        async with AsyncTestClient(app=create_app(dead_cache, container=container)) as client:
            response = await client.get("/health")
    finally:
        await container.close()
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "degraded"
    assert response.json()["data"]["checks"] == {"database": "ok", "cache": "down"}


async def test_unreachable_database_is_503_upstream_unavailable_with_checks(
    settings: Settings, container: Container
) -> None:
    async def database_down() -> None:
        raise OSError("connection refused")

    async def cache_up() -> None:
        return None

    services = replace(container.services, health=HealthService(database_down, cache_up))
    swapped = replace(container, services=services, exit_stack=AsyncExitStack())
    async with AsyncTestClient(app=create_app(settings, container=swapped)) as client:
        response = await client.get("/health")
    body = assert_envelope(response, ErrorCode.UPSTREAM_UNAVAILABLE)
    assert body.details is not None
    assert body.details["checks"] == {"database": "down", "cache": "ok"}
    assert response.headers["retry-after"] == str(body.details["retryAfter"])


async def test_a_hanging_probe_reads_down_within_the_deadline() -> None:
    import asyncio  # noqa: PLC0415

    async def hangs() -> None:
        await asyncio.Event().wait()

    async def fine() -> None:
        return None

    report = await HealthService(fine, hangs, timeout=0.01).check()
    assert (report.database.value, report.cache.value, report.status) == ("ok", "down", "degraded")


async def test_metrics_are_prometheus_text_labelled_by_route_template(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/health")
    await client.get("/connection", headers={"X-User-Id": "secret-user-id"})
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'connector_requests_total{app_name="connector"' in response.text
    assert 'path="/health"' in response.text
    assert "secret-user-id" not in response.text
