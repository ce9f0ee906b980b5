"""Validation errors name the field and the rule, never the value sent: a secret-looking value in
every kind of bad field (enum, type, pattern, length, unknown field), over REST and JSON-RPC,
never shows in the answer or in any log record."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.envelopes import assert_envelope
from support.oauth_world import world_settings

from connector.app import create_app
from connector.bootstrap import build_container
from connector.errors import ErrorCode

SECRET = "SECRET-VALUE-7f3a9c"
EVERY_SCOPE = ("connect", "connection:read", "s3:read", "s3:write", "lambda:read", "lambda:invoke")


@dataclass(frozen=True)
class Bad:
    """One request with SECRET in one bad field, the field its answer must name and a word of
    the rule it must state."""

    name: str
    method: str
    path: str
    field: str
    rule: str
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    user: str = "alice"

    def __str__(self) -> str:
        return self.name


REST = [
    Bad("enum in a body", "POST", "/s3/presign", "method", "allowed values",
        body={"bucket": "alice-data", "key": "k", "method": SECRET}),
    Bad("enum in an invoke body", "POST", "/lambda/functions/echo/invoke", "invocationType",
        "allowed values", body={"invocationType": SECRET}),
    Bad("type in a body", "POST", "/s3/presign", "expiresIn", "Expected `int`",
        body={"bucket": "alice-data", "key": "k", "method": "GET", "expiresIn": SECRET}),
    Bad("type in a query", "GET", "/s3/buckets/alice-data/objects", "maxKeys", "Expected `int`",
        params={"maxKeys": SECRET}),
    Bad("type in a nested body", "POST", "/callback", "code", "Expected `str`",
        body={"code": [SECRET], "state": SECRET}),
    Bad("pattern of the user id", "GET", "/connection", "userId", "characters",
        user=f"{SECRET}/not allowed"),
    Bad("length of the user id", "GET", "/s3/buckets", "userId", "1-128", user=SECRET * 10),
    Bad("pattern of a bucket", "GET", f"/s3/buckets/{SECRET}_X/objects", "bucket", "lowercase"),
    Bad("length of a bucket", "GET", f"/s3/buckets/{SECRET.lower() * 4}/objects", "bucket",
        "3 to 63"),
    Bad("pattern of a function", "GET", f"/lambda/functions/{SECRET}!", "name", "letters"),
    Bad("length of a key", "DELETE", f"/s3/buckets/alice-data/objects/{SECRET * 60}", "key",
        "1024 bytes"),
]  # fmt: skip

RPC = [
    Bad("enum", "presign", "", "method", "allowed values",
        body={"bucket": "alice-data", "key": "k", "method": SECRET}),
    Bad("enum of invoke", "invokeLambda", "", "invocationType", "allowed values",
        body={"name": "echo", "invocationType": SECRET}),
    Bad("type", "listObjects", "", "maxKeys", "Expected `int`",
        body={"bucket": "alice-data", "maxKeys": SECRET}),
    Bad("unknown field", "listBuckets", "", "", "does not take", body={SECRET: 1}),
    Bad("pattern of the user id", "getConnection", "", "userId", "characters",
        user=f"{SECRET} /"),
    Bad("length of the user id", "getConnection", "", "userId", "1-128", user=SECRET * 10),
    Bad("base64 body", "putObject", "", "body", "base64",
        body={"bucket": "alice-data", "key": "k", "body": f"{SECRET}***"}),
]  # fmt: skip


@pytest.fixture
async def http(tmp_path: Path, fernet_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A connector with Cognito configured (nothing is reached: every request fails first)."""
    settings = world_settings(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", "memory://", fernet_key)
    container = await build_container(settings)
    try:
        _, key = await container.services.api_keys.create("k", scopes=EVERY_SCOPE)
        app = create_app(settings, container=container)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://connector.test",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            yield client
    finally:
        await container.close()


def assert_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing the connector logged holds the value (httpx's own lines are this test's client)."""
    for record in caplog.records:
        if record.name.startswith(("httpx", "httpcore")):
            continue
        assert SECRET not in record.getMessage(), record.getMessage()
        assert SECRET not in str(record.exc_info or ""), record.name


@pytest.mark.parametrize("bad", REST, ids=str)
async def test_rest_validation_errors_name_the_field_and_rule_never_the_value(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, bad: Bad
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await http.request(
        bad.method,
        bad.path,
        params=bad.params,
        json=bad.body,
        headers={"X-User-Id": bad.user.encode()} if bad.user else {},
    )
    body = assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert SECRET not in answer.text
    assert SECRET.lower() not in answer.text
    details = body.details if isinstance(body.details, dict) else {}
    problems = details.get("problems") or [{"field": details.get("field"), "message": body.error}]
    assert problems[0]["field"] == bad.field, answer.text
    assert bad.rule in problems[0]["message"] or bad.rule in body.error, answer.text
    assert_never_logged(caplog)


@pytest.mark.parametrize("bad", RPC, ids=str)
async def test_rpc_invalid_params_name_the_field_and_rule_never_the_value(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, bad: Bad
) -> None:
    caplog.set_level(logging.DEBUG)
    params = {"userId": bad.user, **(bad.body or {})}
    answer = await http.post(
        "/rpc", json={"jsonrpc": "2.0", "method": bad.method, "params": params, "id": 1}
    )
    assert answer.status_code == 200
    assert SECRET not in answer.text
    error = answer.json()["error"]
    assert error["code"] == -32602
    assert bad.rule in error["message"], error
    assert error.get("data", {}).get("field", "") == bad.field, error
    if bad.field:
        assert f"{bad.field}: " in error["message"] or bad.field == "userId", error
    assert_never_logged(caplog)
