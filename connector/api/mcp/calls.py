"""What every tool call runs with, carried from the HTTP request to the tool in the ASGI scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.fastmcp import Context

from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import InternalError
from connector.services.agents import Agent
from connector.services.container import OAuthServices, Services
from connector.settings import McpSettings

SCOPE_KEY = "connector.mcp"
ToolContext = Context[Any, Any, Any]
"""What the SDK hands a tool (found by this annotation): the request is in it."""


@dataclass(frozen=True, slots=True)
class McpCall:
    """The authenticated agent of one HTTP request, and the services it may use."""

    services: Services
    agent: Agent
    settings: McpSettings

    @property
    def oauth(self) -> OAuthServices:
        return self.services.oauth()

    @property
    def provider(self) -> str:
        """The provider the tools act on: the default one (what `oauth` serves)."""
        return self.services.default_provider or DEFAULT_PROVIDER


def call_of_scope(scope: Any) -> McpCall:
    """The call the endpoint authenticated (set before the SDK sees the request)."""
    call = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    if not isinstance(call, McpCall):
        raise InternalError("the MCP request reached a tool without an authenticated caller")
    return call


def call_of(ctx: ToolContext) -> McpCall:
    """The call of the request this tool runs for."""
    request = ctx.request_context.request
    return call_of_scope(getattr(request, "scope", None))
