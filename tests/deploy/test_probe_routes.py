"""GET /health/live and /health/ready: the probes Kubernetes acts on (restart, route traffic)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from support.envelopes import assert_envelope

from connector.app import create_app
from connector.bootstrap import Container
from connector.errors import ErrorCode
from connector.services.health import HealthService
from connector.settings import Settings


@asynccontextmanager
async def without_lifespan(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """Requests to `app` without running its lifespan: start-up has not happened (or shutdown
    already has)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as http:
        yield http


async def test_a_started_process_is_live_and_ready(client: httpx.AsyncClient) -> None:
    for path in ("/health/live", "/health/ready"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json()["success"] is True
        assert response.json()["data"] == {"status": "ok"}


async def test_ready_stays_ready_and_live_stays_live_while_the_database_and_cache_are_down(
    settings: Settings, container: Container
) -> None:
    async def down() -> None:
        raise OSError("connection refused")

    services = replace(container.services, health=HealthService(down, down))
    outage = replace(container, services=services, exit_stack=AsyncExitStack())
    async with without_lifespan(create_app(settings, container=outage)) as http:
        health = await http.get("/health")
        ready = await http.get("/health/ready")
        live = await http.get("/health/live")
    body = assert_envelope(health, ErrorCode.UPSTREAM_UNAVAILABLE)  # /health reports it...
    assert body.details is not None
    assert body.details["checks"] == {"database": "down", "cache": "down"}
    assert (ready.status_code, ready.json()["data"]) == (200, {"status": "ok"})  # ...pods stay
    assert (live.status_code, live.json()["data"]) == (200, {"status": "ok"})


async def test_ready_stays_ready_when_the_real_cache_is_unreachable(settings: Settings) -> None:
    dead_cache = replace(settings, cache=replace(settings.cache, url="redis://127.0.0.1:1/0"))
    async with AsyncTestClient(app=create_app(dead_cache)) as client:  # lifespan builds it all
        health = await client.get("/health")
        ready = await client.get("/health/ready")
    assert health.json()["data"]["checks"] == {"database": "ok", "cache": "down"}
    assert ready.status_code == 200


async def test_before_start_up_finished_ready_is_503_and_live_is_200(settings: Settings) -> None:
    app = create_app(settings)  # its lifespan would build the container; it has not run
    async with without_lifespan(app) as http:
        ready = await http.get("/health/ready")
        live = await http.get("/health/live")
    body = assert_envelope(ready, ErrorCode.UPSTREAM_UNAVAILABLE)
    assert "starting" in body.error
    assert ready.headers["retry-after"] == "1"
    assert live.status_code == 200


async def test_ready_turns_503_when_shutdown_begins(settings: Settings) -> None:
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
    # The lifespan has shut down (the container is closed); the process may still answer.
    async with without_lifespan(app) as http:
        ready = await http.get("/health/ready")
        live = await http.get("/health/live")
    body = assert_envelope(ready, ErrorCode.UPSTREAM_UNAVAILABLE)
    assert "shutting down" in body.error
    assert live.status_code == 200


async def test_an_embedded_container_stops_being_ready_when_its_app_shuts_down(
    settings: Settings, container: Container
) -> None:
    app = create_app(settings, container=container)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
    async with without_lifespan(app) as http:
        assert (await http.get("/health/ready")).status_code == 503


async def test_the_probes_need_no_key_and_are_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, operation_id in (("/health/live", "getLiveness"), ("/health/ready", "getReadiness")):
        operation = paths[path]["get"]
        assert operation["operationId"] == operation_id
        assert "security" not in operation
        assert "200" in operation["responses"]
    assert "503" in paths["/health/ready"]["get"]["responses"]
    assert paths["/health"]["get"]["operationId"] == "getHealth"
