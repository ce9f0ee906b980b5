"""Rate limits at the HTTP edge (memory://, so in process): the IETF RateLimit fields on every
counted answer, 429 RATE_LIMITED with Retry-After past a limit, what is not counted, JSON-RPC
calls counted one by one, and a dead Redis letting requests through."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from support.envelopes import assert_envelope
from support.factories import KeyMaker

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.domain.rate_limits import Rate, ScopeClass
from connector.errors import ErrorCode
from connector.settings import (
    CacheSettings,
    DatabaseSettings,
    EncryptionSettings,
    RateLimitSettings,
    Settings,
)

DAY = 86400  # windows this long are not crossed by a test run (but once a day)
PER_KEY, PER_USER = 5, 3
UNCHECKED_SERIES = "connector_rate_limits_unchecked_total"


@pytest.fixture
def settings(tmp_path: Path, fernet_key: str) -> Settings:
    defaults = RateLimitSettings()
    return Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'connector.db'}"),
        cache=CacheSettings(url="memory://"),
        encryption=EncryptionSettings(keys=(fernet_key,)),
        rate_limits=RateLimitSettings(
            per_key={**defaults.per_key, ScopeClass.READ: Rate(PER_KEY, DAY)},
            per_user={**defaults.per_user, ScopeClass.READ: Rate(PER_USER, DAY)},
        ),
    )


def headers(key: str, user: str | None = "alice") -> dict[str, str]:
    sent = {"Authorization": f"Bearer {key}"}
    return sent if user is None else {**sent, "X-User-Id": user}


def fields(response: httpx.Response) -> dict[str, dict[str, int]]:
    """RateLimit as {policy: {"r": remaining, "t": reset}}."""
    items = re.findall(r'"([^"]+)";r=(\d+);t=(\d+)', response.headers["RateLimit"])
    return {name: {"r": int(r), "t": int(t)} for name, r, t in items}


async def test_a_counted_answer_carries_the_policy_and_what_is_left_of_it(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    answer = await client.get("/connection", headers=headers(key))
    assert answer.status_code == 404  # alice is not connected; the request counted anyway
    assert answer.headers["RateLimit-Policy"] == (
        f'"read-per-key";q={PER_KEY};w={DAY}, "read-per-user";q={PER_USER};w={DAY}'
    )
    now_left = DAY - time.time() % DAY
    state = fields(answer)
    assert (state["read-per-key"]["r"], state["read-per-user"]["r"]) == (4, 2)
    assert abs(state["read-per-key"]["t"] - now_left) <= 2


async def test_past_the_user_limit_the_answer_is_429_rate_limited_with_retry_after(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    for _ in range(PER_USER):
        assert (await client.get("/connection", headers=headers(key))).status_code == 404
    refused = await client.get("/connection", headers=headers(key))
    body = assert_envelope(refused, ErrorCode.RATE_LIMITED, 429)
    assert body.details is not None
    assert body.details["limit"] == "read-per-user"
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after == fields(refused)["read-per-user"]["t"] >= 1
    assert fields(refused)["read-per-user"]["r"] == 0
    assert body.details["retryAfter"] == retry_after


async def test_rotating_x_user_id_does_not_escape_the_key_limit(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    statuses = [
        (await client.get("/connection", headers=headers(key, f"user-{n}"))).status_code
        for n in range(PER_KEY + 2)
    ]
    assert statuses == [404] * PER_KEY + [429, 429]


async def test_another_key_is_not_held_back_by_a_key_at_its_limit(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    first, second = [await make_key(scopes=["connection:read"]) for _ in range(2)]
    for n in range(PER_KEY + 1):
        await client.get("/connection", headers=headers(first, f"u{n}"))
    assert (await client.get("/connection", headers=headers(second))).status_code == 404


async def test_a_request_without_a_valid_key_is_neither_counted_nor_given_fields(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    for _ in range(PER_KEY + 3):
        refused = await client.get("/connection", headers=headers("cnk_not_a_key"))
        assert refused.status_code == 401
        assert "RateLimit" not in refused.headers
    answer = await client.get("/connection", headers=headers(key))
    assert fields(answer)["read-per-key"]["r"] == PER_KEY - 1


async def test_a_forbidden_or_malformed_request_is_not_counted(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    for _ in range(PER_KEY + 1):
        assert_envelope(await client.get("/s3/buckets", headers=headers(key)), ErrorCode.FORBIDDEN)
        malformed = await client.get("/connection", headers=headers(key, "al ice"))
        assert_envelope(malformed, ErrorCode.VALIDATION_ERROR)
    assert fields(await client.get("/connection", headers=headers(key)))["read-per-key"]["r"] == 4


async def test_presign_counts_as_a_read(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key(scopes=["connection:read", "s3:write"])
    body = {"bucket": "b-1", "key": "k", "method": "PUT"}
    answer = await client.post("/s3/presign", json=body, headers=headers(key))
    assert "read-per-key" in fields(answer)


async def test_health_is_not_counted(client: httpx.AsyncClient) -> None:
    for _ in range(PER_KEY + 1):
        answer = await client.get("/health/live")
        assert answer.status_code == 200
        assert "RateLimit" not in answer.headers


async def test_each_json_rpc_call_of_a_batch_counts_and_calls_past_the_limit_are_refused(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    calls = [
        {"jsonrpc": "2.0", "id": n, "method": "getConnection", "params": {"userId": f"u{n}"}}
        for n in range(PER_KEY + 3)
    ]
    answer = await client.post("/rpc", json=calls, headers=headers(key, None))
    assert answer.status_code == 200
    codes = sorted(item["result"]["code"] for item in answer.json())
    assert codes == sorted(["NOT_CONNECTED"] * PER_KEY + ["RATE_LIMITED"] * 3)
    limited = next(i["result"] for i in answer.json() if i["result"]["code"] == "RATE_LIMITED")
    assert limited["details"]["retryable"] is True
    assert limited["details"]["retryAfter"] >= 1
    # The batch used the key's whole allowance: REST is refused too.
    assert (await client.get("/connection", headers=headers(key))).status_code == 429


async def test_a_json_rpc_call_counts_against_its_users_limit(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    call = {"jsonrpc": "2.0", "method": "getConnection", "params": {"userId": "alice"}}
    batch = [{**call, "id": n} for n in range(PER_USER + 1)]
    answer = await client.post("/rpc", json=batch, headers=headers(key, None))
    codes = sorted(item["result"]["code"] for item in answer.json())
    assert codes == sorted(["NOT_CONNECTED"] * PER_USER + ["RATE_LIMITED"])


async def test_memory_limits_belong_to_their_process(
    settings: Settings, container: Container, make_key: KeyMaker
) -> None:
    key = await make_key(scopes=["connection:read"])
    other = await build_container(replace(settings))  # a second memory:// process, same database
    try:
        apps = [create_app(settings, container=c) for c in (container, other)]
        for app in apps:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://connector.test"
            ) as http:
                answer = await http.get("/connection", headers=headers(key))
                assert fields(answer)["read-per-key"]["r"] == PER_KEY - 1
    finally:
        await other.close()


async def test_with_redis_unreachable_requests_pass_without_fields_logged_and_counted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dead = replace(settings, cache=replace(settings.cache, url="redis://127.0.0.1:1/0"))
    container = await build_container(dead)
    before = REGISTRY.get_sample_value(UNCHECKED_SERIES, {"check": "requests"})
    try:
        _, key = await container.services.api_keys.create("k", scopes=["connection:read"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(dead, container=container)),
            base_url="http://connector.test",
        ) as http:
            with caplog.at_level(logging.WARNING, logger="connector.outages"):
                started = time.monotonic()
                answers = [
                    await http.get("/connection", headers=headers(key, f"u{n}"))
                    for n in range(PER_KEY + 3)
                ]
                took = time.monotonic() - started
            exposed = (await http.get("/metrics")).text
    finally:
        await container.close()
    assert [a.status_code for a in answers] == [404] * (PER_KEY + 3)  # never 429 nor 500
    assert all("RateLimit" not in a.headers for a in answers)
    assert took < 3.0  # a refused port fails fast; the breaker skips it after
    after = REGISTRY.get_sample_value(UNCHECKED_SERIES, {"check": "requests"})
    assert (after or 0) - (before or 0) == PER_KEY + 3
    assert f'{UNCHECKED_SERIES}{{check="requests"}}' in exposed
    assert any("rate limits not checked" in r.getMessage() for r in caplog.records)
