"""Every error path of the API leaves as a valid envelope with the right code and status."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
import msgspec
import pytest
from litestar import get
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient
from support.envelopes import assert_envelope
from support.factories import KeyMaker
from support.fakes import FakeCache, FakeConnectionStore, FixedClock

from connector.app import create_app
from connector.bootstrap import Container
from connector.domain.models import Connection
from connector.errors import ErrorCode, UpstreamUnavailableError
from connector.services.connection_census import ConnectionCensus
from connector.services.connections import ConnectionService
from connector.services.tolerant_cache import TolerantCache
from connector.settings import Settings

Client = httpx.AsyncClient | AsyncTestClient[Any]


async def test_unknown_route_is_not_found(client: Client) -> None:
    assert_envelope(await client.get("/nowhere"), ErrorCode.NOT_FOUND)


async def test_wrong_method_is_405_with_allow_and_a_validation_envelope(client: Client) -> None:
    response = await client.delete("/health")
    assert_envelope(response, ErrorCode.VALIDATION_ERROR, status=405)
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "ck_0123456789abcdef_" + "x" * 43},
    ],
)
async def test_missing_or_invalid_key_is_unauthorized(
    client: Client, headers: dict[str, str]
) -> None:
    response = await client.get("/connection", headers={**headers, "X-User-Id": "alice"})
    assert_envelope(response, ErrorCode.UNAUTHORIZED)


async def test_key_is_checked_before_the_user_id(client: Client) -> None:
    # X-User-Id is never trusted, or even validated, without a valid key.
    assert_envelope(await client.get("/connection"), ErrorCode.UNAUTHORIZED)


async def test_key_without_the_scope_is_forbidden(client: Client, make_key: KeyMaker) -> None:
    key = await make_key(scopes=["s3:read"])
    response = await client.get("/connection", headers={"X-API-Key": key, "X-User-Id": "alice"})
    body = assert_envelope(response, ErrorCode.FORBIDDEN)
    assert body.details == {"requiredScope": "connection:read"}


async def test_revoked_key_is_unauthorized_at_once(
    client: Client, make_key: KeyMaker, container: Container
) -> None:
    key = await make_key(name="soon-gone")
    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    assert (await client.get("/connection", headers=headers)).status_code == 404
    await container.services.api_keys.revoke("soon-gone")
    assert_envelope(await client.get("/connection", headers=headers), ErrorCode.UNAUTHORIZED)


@pytest.mark.parametrize("user", [None, ""])
async def test_absent_or_empty_user_id_is_missing_user_id(
    client: Client, make_key: KeyMaker, user: str | None
) -> None:
    headers = {"X-API-Key": await make_key()}
    if user is not None:
        headers["X-User-Id"] = user
    assert_envelope(await client.get("/connection", headers=headers), ErrorCode.MISSING_USER_ID)


@pytest.mark.parametrize("user", ["a b", "x" * 129, "alice/../bob", "é", "a;b"])
async def test_malformed_user_id_is_a_validation_error(
    client: Client, make_key: KeyMaker, user: str
) -> None:
    # Headers travel as latin-1 bytes: that is how a non-ASCII id reaches the server.
    headers = {"X-API-Key": await make_key(), "X-User-Id": user.encode("latin-1")}
    assert_envelope(await client.get("/connection", headers=headers), ErrorCode.VALIDATION_ERROR)


async def test_user_without_connection_is_not_connected(client: Client, make_key: KeyMaker) -> None:
    headers = {"X-API-Key": await make_key(), "X-User-Id": "a.b_c@d:e+f-g"}
    assert_envelope(await client.get("/connection", headers=headers), ErrorCode.NOT_CONNECTED)


async def test_framework_validation_errors_are_envelopes_naming_the_field(
    settings: Settings, container: Container
) -> None:
    @get("/_probe")
    async def probe(count: FromQuery[int]) -> int:
        return count

    app = create_app(settings, container=container)
    app.register(probe)
    async with AsyncTestClient(app=app) as client:
        body = assert_envelope(await client.get("/_probe?count=many"), ErrorCode.VALIDATION_ERROR)
    assert body.details is not msgspec.UNSET
    assert body.details["problems"][0]["field"] == "count"
    assert "many" not in msgspec.json.encode(body).decode()  # values sent are not echoed


class ExplodingStore(FakeConnectionStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def get(self, user_id: str, provider: str = "default") -> Connection | None:
        raise self.error


async def _client_with_store(
    stack: AsyncExitStack, settings: Settings, container: Container, store: FakeConnectionStore
) -> Client:
    swapped = Container(
        settings=settings,
        services=type(container.services)(
            api_keys=container.services.api_keys,
            connections=ConnectionService(
                store, TolerantCache(FakeCache()), container.cipher, FixedClock()
            ),
            health=container.services.health,
            rate_limits=container.services.rate_limits,
            census=ConnectionCensus(store, FixedClock()),
        ),
        store=store,
        cache=FakeCache(),
        cipher=container.cipher,
        clock=FixedClock(),
        exit_stack=AsyncExitStack(),
    )
    return await stack.enter_async_context(
        AsyncTestClient(app=create_app(settings, container=swapped))
    )


async def test_unexpected_exception_is_internal_error_without_trace_or_secret(
    settings: Settings, container: Container, make_key: KeyMaker
) -> None:
    key = await make_key()
    async with AsyncExitStack() as stack:
        store = ExplodingStore(RuntimeError("password=hunter2 at db.internal"))
        client = await _client_with_store(stack, settings, container, store)
        response = await client.get("/connection", headers={"X-API-Key": key, "X-User-Id": "alice"})
    body = assert_envelope(response, ErrorCode.INTERNAL_ERROR)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body.error == "internal error"


async def test_store_outage_is_upstream_unavailable_with_retry_after(
    settings: Settings, container: Container, make_key: KeyMaker
) -> None:
    key = await make_key()
    async with AsyncExitStack() as stack:
        store = ExplodingStore(UpstreamUnavailableError("database unavailable", retry_after=2))
        client = await _client_with_store(stack, settings, container, store)
        response = await client.get("/connection", headers={"X-API-Key": key, "X-User-Id": "alice"})
    body = assert_envelope(response, ErrorCode.UPSTREAM_UNAVAILABLE)
    assert response.headers["retry-after"] == "2"
    assert body.details is not msgspec.UNSET
    assert body.details["retryAfter"] == 2
