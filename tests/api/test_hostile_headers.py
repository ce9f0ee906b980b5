"""Headers an attacker controls, sent as raw bytes on every route: a malformed API key is a 401
(never a 500, nothing logged as an error), and a repeated X-User-Id is refused, not guessed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from support.envelopes import assert_envelope
from support.factories import KeyMaker
from support.routes import Route, routes

from connector.app import create_app
from connector.bootstrap import Container
from connector.errors import ErrorCode
from connector.settings import Settings

EVERY_SCOPE = (
    "connect",
    "connection:read",
    "token:read",
    "credentials:read",
    "s3:read",
    "s3:write",
    "lambda:read",
    "lambda:invoke",
)

MALFORMED_KEYS: dict[str, list[tuple[bytes, bytes]]] = {
    "x-api-key-byte-ff": [(b"x-api-key", b"\xff")],
    "x-api-key-latin-1": [(b"x-api-key", b"ck_\xe9\xe8\xff_" + b"\xa0" * 43)],
    "x-api-key-utf-8": [(b"x-api-key", "clé-ключ-鍵".encode())],
    "x-api-key-control-characters": [(b"x-api-key", b"ck_\x01\x02\x1b[0m\x7f")],
    "x-api-key-very-long": [(b"x-api-key", b"ck_" + b"\xff" * 60_000)],
    "bearer-byte-ff": [(b"authorization", b"Bearer \xff\xfe")],
    "bearer-control-characters": [(b"authorization", b"Bearer \x00\x08\x1f")],
    "bearer-very-long": [(b"authorization", b"Bearer " + "é".encode() * 30_000)],
    "scheme-non-ascii": [(b"authorization", b"\xffearer ck_x")],
}


@pytest.fixture
async def app(settings: Settings, container: Container) -> Litestar:
    return create_app(settings, container=container)


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as client:
        yield client


async def send(
    http: httpx.AsyncClient, route: Route, headers: list[tuple[bytes, bytes]]
) -> httpx.Response:
    body = b"[]" if route.template == "/rpc" else b"{}"
    content = body if route.takes_json or route.template == "/rpc" else None
    if content is not None:
        headers = [*headers, (b"content-type", b"application/json")]
    return await http.request(route.method, route.path, headers=headers, content=content)


def test_the_route_list_covers_the_api(app: Litestar) -> None:
    found = {str(r) for r in routes(app)}
    assert {"POST /rpc", "GET /connection", "POST /callback", "GET /s3/buckets"} <= found
    assert sum(r.takes_user_id for r in routes(app)) >= 12


@pytest.mark.parametrize("case", sorted(MALFORMED_KEYS))
async def test_a_malformed_api_key_is_unauthorized_on_every_route_and_never_an_error_log(
    app: Litestar, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.DEBUG)
    guarded = [r for r in routes(app) if r.needs_key]
    assert any(r.template == "/rpc" for r in guarded)
    for route in guarded:
        headers = [*MALFORMED_KEYS[case], (b"x-user-id", b"alice")]
        answer = await send(http, route, headers)
        assert_envelope(answer, ErrorCode.UNAUTHORIZED)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_two_user_id_headers_are_a_validation_error_on_every_route_that_takes_one(
    app: Litestar, http: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = (await make_key(scopes=EVERY_SCOPE)).encode()
    taking = [r for r in routes(app) if r.takes_user_id]
    for route in taking:
        auth = (b"authorization", b"Bearer " + key)
        twice = [auth, (b"x-user-id", b"alice"), (b"x-user-id", b"mallory")]
        body = assert_envelope(await send(http, route, twice), ErrorCode.VALIDATION_ERROR)
        assert body.details == {"field": "userId"}, route
        assert "once" in body.error, route
        # The same request naming one user gets past the header (whatever happens next).
        once = await send(http, route, [auth, (b"x-user-id", b"alice")])
        assert once.json().get("details") != {"field": "userId"}, (route, once.text)
