"""/mcp for alice in the e2e world (the Hosted UI stand-in in process, moto): the official MCP
client over the connector app (its lifespan run), where the stand-in can mint the tokens a live
one never would: expired, for a user with no connection."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from support.aws_world import connect_alice, headers
from support.mcp_client import structured, tool_error
from support.oauth_world import CONNECTOR_URL, CognitoWorld, Instance, make_world
from support.oauth_world import world_settings as base_settings

from connector.app import create_app
from connector.sandbox.hosted_ui import KeySet

AGENT = "mcp-agent"
READ, WRITE = "connector/mcp.read", "connector/mcp.write"
ALICE_BUCKETS = ["alice-archive", "alice-data", "team-shared"]


@pytest.fixture
async def mcp_world(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> AsyncIterator[CognitoWorld]:
    settings = base_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_MCP_CLIENT_IDS=AGENT,
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


@asynccontextmanager
async def session_at(
    world: CognitoWorld, instance: Instance, request_headers: dict[str, str]
) -> AsyncIterator[ClientSession]:
    """The official client on the app itself (AsyncTestClient is an httpx client that runs the
    app's lifespan, so the MCP session manager runs as under a server)."""
    app = create_app(world.settings, container=instance.container)
    async with (
        AsyncTestClient(app, base_url=CONNECTOR_URL) as http,
        streamable_http_client(f"{CONNECTOR_URL}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        http.headers.update(request_headers)
        await session.initialize()
        yield session


def access_token(world: CognitoWorld, user: str = "alice", **overrides: Any) -> str:
    return world.hosted_ui.mint_access_token(
        user, client_id=AGENT, scopes=(READ, WRITE), overrides=overrides or None
    )


async def test_service_mode_lists_alices_buckets_and_refuses_one_outside_the_keys_policy(
    mcp_world: CognitoWorld,
) -> None:
    instance = await mcp_world.instance()
    await connect_alice(mcp_world, instance)
    everything = await mcp_world.key(instance, "s3:read", "s3:write")
    restricted = await mcp_world.key(instance, "s3:read", buckets=["alice-*"])

    async with session_at(mcp_world, instance, headers(everything)) as session:
        listed = structured(await session.call_tool("list_buckets", {}))
    async with session_at(mcp_world, instance, headers(restricted)) as session:
        narrowed = structured(await session.call_tool("list_buckets", {}))
        refused = tool_error(await session.call_tool("list_objects", {"bucket": "team-shared"}))

    assert sorted(b["name"] for b in listed["buckets"]) == ALICE_BUCKETS
    assert sorted(b["name"] for b in narrowed["buckets"]) == ["alice-archive", "alice-data"]
    assert refused["code"] == "FORBIDDEN"


async def test_user_mode_acts_for_alice_with_her_own_access_token(
    mcp_world: CognitoWorld,
) -> None:
    instance = await mcp_world.instance()
    await connect_alice(mcp_world, instance)

    bearer = {"Authorization": f"Bearer {access_token(mcp_world)}"}
    async with session_at(mcp_world, instance, bearer) as session:
        listed = structured(await session.call_tool("list_buckets", {}))
        written = structured(
            await session.call_tool(
                "write_object", {"bucket": "alice-data", "key": "mcp.txt", "content": "by agent"}
            )
        )
        read = structured(
            await session.call_tool("read_object", {"bucket": "alice-data", "key": "mcp.txt"})
        )

    assert sorted(b["name"] for b in listed["buckets"]) == ALICE_BUCKETS
    assert written["key"] == "mcp.txt"
    assert read["text"] == "by agent"


async def test_a_user_without_a_connection_is_told_how_to_connect(
    mcp_world: CognitoWorld,
) -> None:
    instance = await mcp_world.instance()
    await connect_alice(mcp_world, instance)

    bearer = {"Authorization": f"Bearer {access_token(mcp_world, 'bob')}"}
    async with session_at(mcp_world, instance, bearer) as session:
        tools = await session.list_tools()
        refused = tool_error(await session.call_tool("list_buckets", {}))

    assert tools.tools
    assert refused["code"] == "NOT_CONNECTED"
    assert "connect" in refused["error"]


async def test_an_expired_access_token_is_refused_with_401(mcp_world: CognitoWorld) -> None:
    instance = await mcp_world.instance()
    past = int(time.time()) - 3600
    expired = access_token(mcp_world, iat=past - 3600, exp=past)
    app = create_app(mcp_world.settings, container=instance.container)

    async with AsyncTestClient(app, base_url=CONNECTOR_URL) as http:
        refused = await http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {expired}",
                "Accept": "application/json, text/event-stream",
            },
        )

    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


async def test_tool_calls_count_against_the_keys_rate_limits_per_user(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    """A tool call is one request of its scope's class, as on REST: past the per-user limit it
    is a RATE_LIMITED tool error saying when to retry."""
    settings = base_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_RATE_LIMITS_PER_USER="read=2/minute",
    )
    async with AsyncExitStack() as stack:
        world = make_world(stack, pool_keys, settings)
        instance = await world.instance()
        await connect_alice(world, instance)
        key = await world.key(instance, "s3:read")
        async with session_at(world, instance, headers(key)) as session:
            for _ in range(2):
                structured(await session.call_tool("list_buckets", {}))
            refused = tool_error(await session.call_tool("list_buckets", {}))
    assert refused["code"] == "RATE_LIMITED"
    assert refused["details"]["retryAfter"] >= 1
