"""How every tool runs: its scope checked before any AWS call, the user it acts for, one
service call, then a structured result, or an MCP tool error carrying the connector's code."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from mcp.types import CallToolResult, TextContent

from connector.api.mcp.audit import audit_tool_call
from connector.api.mcp.calls import McpCall, ToolContext, call_of
from connector.domain.models import ApiKey, Scope
from connector.domain.rate_limits import scope_class
from connector.errors import ConnectorError, InternalError, PermissionDeniedError
from connector.services.access import require_scope

log = logging.getLogger("connector.api.mcp")
Call = Callable[[McpCall, str], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    fn: Callable[..., Awaitable[CallToolResult]]
    scopes: tuple[Scope, ...]
    """The scope the tool needs (any one of them, when its service checks which)."""
    hints: dict[str, bool]
    """MCP tool annotations: readOnlyHint, destructiveHint, idempotentHint."""
    checks_own_scope: bool = False
    """The service checks the scope from the arguments (presign: GET or PUT)."""

    def permitted(self, key: ApiKey) -> bool:
        """Whether `tools/list` shows this tool to the key."""
        return any(scope in key.scopes for scope in self.scopes)


async def run(ctx: ToolContext, tool: Tool, resource: str | None, call: Call) -> CallToolResult:
    """Run `call` for the request's agent; every outcome is audited, none is an HTTP 500."""
    mcp_call = call_of(ctx)
    agent = mcp_call.agent
    try:
        _authorize(tool, agent.key)
        user_id = agent.acting_for()
        await count_against_rate_limits(mcp_call, tool, user_id)
        data = msgspec.to_builtins(await call(mcp_call, user_id))
    except ConnectorError as exc:
        if isinstance(exc, InternalError):
            log.error("internal error in MCP tool %s: %s", tool.name, exc.message)
        audit_tool_call(agent, tool.name, resource, str(exc.error_code), provider=mcp_call.provider)
        return tool_error(exc)
    except Exception:
        log.exception("MCP tool %s failed unexpectedly", tool.name)
        audit_tool_call(agent, tool.name, resource, "INTERNAL_ERROR", provider=mcp_call.provider)
        return tool_error(InternalError("the connector failed unexpectedly; try again"))
    audit_tool_call(agent, tool.name, resource, "ok", provider=mcp_call.provider)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, separators=(",", ":")))],
        structuredContent=data,
    )


def _authorize(tool: Tool, key: ApiKey) -> None:
    """The key's scope, before any AWS call (and before the user is looked at)."""
    if tool.checks_own_scope:
        if not tool.permitted(key):
            raise PermissionDeniedError(
                f"this caller may not use {tool.name}",
                details={"requiredScope": " or ".join(map(str, tool.scopes))},
            )
        return
    for scope in tool.scopes:
        require_scope(key, scope)


async def count_against_rate_limits(call: McpCall, tool: Tool, user_id: str) -> None:
    """The one place a tool call meets the REST rate limits: per key and per (key, user), in
    the class of the scope the tool needs (RATE_LIMITED, a tool error, when over a limit)."""
    scope = None if tool.checks_own_scope else tool.scopes[0]
    await call.services.rate_limits.admit(call.agent.key.id, user_id, scope_class(scope))


def tool_error(error: ConnectorError) -> CallToolResult:
    """An MCP tool error (`isError: true`) with the envelope's code, message and details."""
    body: dict[str, Any] = {"code": str(error.error_code), "error": error.message}
    if error.details:
        body["details"] = msgspec.to_builtins(error.details)
    return CallToolResult(
        content=[TextContent(type="text", text=f"{error.error_code}: {error.message}")],
        structuredContent=body,
        isError=True,
    )
