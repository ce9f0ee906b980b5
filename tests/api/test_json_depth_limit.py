"""Deeply nested JSON bodies: VALIDATION_ERROR on every REST route that reads JSON, a JSON-RPC
parse error on /rpc; never a RecursionError turned 500, nothing logged as an error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from support.envelopes import assert_envelope
from support.factories import KeyMaker
from support.routes import routes

from connector.app import create_app
from connector.bootstrap import Container
from connector.domain.json_depth import MAX_JSON_DEPTH
from connector.errors import ErrorCode
from connector.settings import Settings

DEEP = b"[" * 100_000
JSON = {"Content-Type": "application/json"}
EVERY_SCOPE = ("connect", "s3:read", "s3:write", "lambda:invoke", "lambda:read")


@pytest.fixture
async def app(settings: Settings, container: Container) -> Litestar:
    return create_app(settings, container=container)


@pytest.fixture
async def http(app: Litestar, make_key: KeyMaker) -> AsyncIterator[httpx.AsyncClient]:
    key = await make_key(scopes=EVERY_SCOPE)
    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://connector.test", headers=headers
    ) as client:
        yield client


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/callback", "/lambda/functions/echo/invoke", "/s3/presign"])
async def test_a_deeply_nested_body_is_a_validation_error(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await http.post(path, content=DEEP, headers=JSON)
    body = assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert body.details == {"field": "body", "maxDepth": MAX_JSON_DEPTH}
    assert errors_logged(caplog) == []


async def test_every_route_that_reads_json_refuses_deep_nesting(
    app: Litestar, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reading = [r for r in routes(app) if r.takes_json and r.template != "/rpc"]
    assert len(reading) >= 3
    for route in reading:
        answer = await http.request(route.method, route.path, content=DEEP, headers=JSON)
        assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert errors_logged(caplog) == []


async def test_a_payload_nested_to_the_limit_still_reaches_the_operation(
    http: httpx.AsyncClient,
) -> None:
    # The body object is one level, so the payload may nest one less than the limit.
    payload = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    answer = await http.post(
        "/lambda/functions/echo/invoke", content=f'{{"payload": {payload}}}', headers=JSON
    )
    # Past decoding: this app has no Cognito, so the operation is what refuses.
    assert answer.json()["code"] == ErrorCode.INTERNAL_ERROR, answer.text
    assert "AWS_COGNITO_DOMAIN" in answer.json()["error"]


@pytest.mark.parametrize("body", [DEEP, b'[{"jsonrpc": "2.0", "params": ' + DEEP])
async def test_a_deeply_nested_rpc_body_is_a_parse_error(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await http.post("/rpc", content=body, headers=JSON)
    assert answer.status_code == 200
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32700,
            "message": f"Parse error: the body nests deeper than {MAX_JSON_DEPTH} levels",
        },
    }
    assert errors_logged(caplog) == []
