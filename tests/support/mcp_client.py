"""The official MCP client (`mcp`), connected to a live connector's /mcp with given headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    """An initialized session at `url` (the connector's `/mcp`), every request with `headers`."""
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call (the test fails with the error otherwise)."""
    assert not result.isError, result.content
    assert result.structuredContent is not None
    return dict(result.structuredContent)


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """The `{code, error, details?}` of a failed call."""
    assert result.isError, result.structuredContent
    assert result.structuredContent is not None
    return dict(result.structuredContent)
