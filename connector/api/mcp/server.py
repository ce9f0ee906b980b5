"""The MCP server: the SDK's `FastMCP` with the connector's tools, its Streamable HTTP app
(stateless, JSON answers: any replica serves any call) and the transport's Host/Origin checks."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, ToolAnnotations
from mcp.types import Tool as McpTool
from starlette.applications import Starlette

from connector.api.mcp.calls import call_of_scope
from connector.api.mcp.tools import TOOLS
from connector.errors import InternalError
from connector.settings import Settings

INSTRUCTIONS = (
    "Acts in AWS (S3, Lambda) as the signed-in user, with the user's own temporary"
    " credentials, within this caller's scopes and bucket/function policy. Errors carry the"
    " connector's code: NOT_CONNECTED means the user must connect in the app first,"
    " FORBIDDEN that the resource is outside this caller's policy."
)
# Envelope, names and JSON around the largest inline body (base64 grows it by a third).
_BODY_ALLOWANCE = 1 << 20


class ConnectorMcp(FastMCP[Any]):
    """`tools/list` shows the caller only the tools its key (or token) may call; a tool error
    keeps its structured content (`{code, error, details}`), which the SDK would validate
    against the tool's output schema and turn into bare text."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        result = await self._tool_manager.call_tool(
            name, arguments, context=self.get_context(), convert_result=False
        )
        if not isinstance(result, CallToolResult):
            raise InternalError(f"the tool {name} answered no CallToolResult")
        tool = self._tool_manager.get_tool(name)
        model = tool.fn_metadata.output_model if tool is not None else None
        if not result.isError and model is not None:
            model.model_validate(result.structuredContent)  # what the outputSchema promises
        return result

    async def list_tools(self) -> list[McpTool]:
        request = self.get_context().request_context.request
        key = call_of_scope(getattr(request, "scope", None)).agent.key
        return [
            tool
            for tool in await super().list_tools()
            if tool.name in TOOLS and TOOLS[tool.name].permitted(key)
        ]


def build_server(settings: Settings) -> ConnectorMcp:
    """The tools, each with its description, annotations and output schema."""
    with _logging_left_alone():
        server = ConnectorMcp(
            "connector",
            instructions=INSTRUCTIONS,
            streamable_http_path="/",
            stateless_http=True,
            json_response=True,
            max_request_body_size=4 * -(-settings.mcp.max_read_bytes // 3) + _BODY_ALLOWANCE,
            transport_security=transport_security(settings),
        )
    for tool in TOOLS.values():
        server.add_tool(
            tool.fn,
            name=tool.name,
            annotations=ToolAnnotations(
                readOnlyHint=tool.hints["readOnlyHint"],
                destructiveHint=tool.hints["destructiveHint"],
                idempotentHint=tool.hints["idempotentHint"],
                openWorldHint=False,
            ),
            structured_output=True,
        )
    return server


def streamable_app(server: FastMCP[Any]) -> Starlette:
    """Streamable HTTP at the mount's root (the settings above: stateless, JSON)."""
    return server.streamable_http_app()


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection for the public host: its Host, and its own origin plus the
    configured ones (browser-based agents); requests without Origin (not browsers) pass."""
    public = urlsplit(settings.server.public_url)
    hosts = [public.netloc]
    origins = [f"{public.scheme}://{public.netloc}", *settings.mcp.allowed_origins]
    if public.hostname in ("127.0.0.1", "localhost") and public.port is not None:
        twin = "localhost" if public.hostname == "127.0.0.1" else "127.0.0.1"
        hosts.append(f"{twin}:{public.port}")
        origins.append(f"{public.scheme}://{twin}:{public.port}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class _logging_left_alone:  # noqa: N801 - used as a `with` statement
    """FastMCP calls `logging.basicConfig` when built; the connector's logging is configured
    once, by the CLI or the host process, so the root logger is put back as it was."""

    def __enter__(self) -> None:
        root = logging.getLogger()
        self._handlers, self._level = list(root.handlers), root.level

    def __exit__(self, *_: object) -> None:
        root = logging.getLogger()
        root.handlers[:] = self._handlers
        root.setLevel(self._level)
