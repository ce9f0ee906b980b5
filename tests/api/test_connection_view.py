"""GET /connection: every field present, camelCase, UTC `Z` times, and never a token."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import httpx
import pytest
from litestar.testing import AsyncTestClient
from support.factories import KeyMaker, make_connection

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.settings import Settings

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_connection_view_has_every_field_and_no_secret(
    client: httpx.AsyncClient, container: Container, make_key: KeyMaker
) -> None:
    connection = make_connection("alice", container.cipher)
    await container.store.put(connection, expected_version=None)
    key = await make_key(scopes=["connection:read"])

    response = await client.get("/connection", headers={"X-API-Key": key, "X-User-Id": "alice"})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {
        "userId", "status", "sub", "username", "email", "scopes", "identityId",
        "expiresAt", "lastRefreshedAt", "createdAt", "updatedAt",
    }  # fmt: skip
    assert data["userId"] == "alice"
    assert data["status"] == "active"
    assert data["scopes"] == ["openid", "email", "profile"]
    assert data["identityId"] is None
    assert data["lastRefreshedAt"] is None
    for field in ("expiresAt", "createdAt", "updatedAt"):
        assert ISO_Z.match(data[field]), data[field]
    for secret in ("access-token-of-alice", "refresh-token-of-alice", "id-token-of-alice"):
        assert secret not in response.text
    assert connection.tokens.access_token not in response.text


async def test_connection_is_served_while_redis_is_down_and_the_outage_is_logged_once(
    settings: Settings, make_key: KeyMaker, caplog: pytest.LogCaptureFixture
) -> None:
    dead_cache = replace(settings, cache=replace(settings.cache, url="redis://127.0.0.1:1/0"))
    container = await build_container(dead_cache)
    try:
        await container.store.put(make_connection("bob", container.cipher), expected_version=None)
        _, key = await container.services.api_keys.create("k")
        headers = {"X-API-Key": key, "X-User-Id": "bob"}
        async with AsyncTestClient(app=create_app(dead_cache, container=container)) as client:
            with caplog.at_level(logging.WARNING):
                statuses = [
                    (await client.get("/connection", headers=headers)).status_code for _ in range(5)
                ]
    finally:
        await container.close()
    assert statuses == [200] * 5
    warnings = [r for r in caplog.records if "cache unavailable" in r.getMessage()]
    assert len(warnings) == 1
