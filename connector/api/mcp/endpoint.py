"""`/mcp`: authenticates the caller (an API key naming a user, or a Cognito access token), then
hands the request to the SDK's Streamable HTTP app with the caller in the ASGI scope."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import HTTPResponseStartEvent, Receive, Scope, Send
from starlette.applications import Starlette
from starlette.datastructures import Headers

from connector.api.envelope import failure
from connector.api.mcp.calls import SCOPE_KEY, McpCall
from connector.api.mcp.server import build_server, streamable_app
from connector.errors import (
    AuthenticationError,
    ConnectorError,
    PermissionDeniedError,
    ValidationError,
)
from connector.services.agents import Agent
from connector.services.container import Services
from connector.settings import Settings

MCP_PATH = "/mcp"
PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"
_API_KEY = re.compile(r"ck_[0-9a-f]+_")


class McpEndpoint:
    """One per app: the SDK server, its Streamable HTTP app and its session manager, which
    runs for the app's lifespan (stateless: it keeps no session between requests)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.server = build_server(settings)
        self.app: Starlette = streamable_app(self.server)
        public = settings.server.public_url
        self.resource = f"{public}{MCP_PATH}"
        self.resource_metadata_url = f"{public}{PROTECTED_RESOURCE_PATH}{MCP_PATH}"
        self._user_mode = settings.cognito is not None and bool(settings.mcp.client_ids)

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        async with self.server.session_manager.run():
            yield

    def route(self) -> ASGIRouteHandler:
        """The Litestar mount at /mcp (the scope is copied: the SDK's app writes to it)."""

        @asgi(MCP_PATH, is_mount=True, copy_scope=True, include_in_schema=False)
        async def mcp(scope: Scope, receive: Receive, send: Send) -> None:
            await self(scope, receive, send)

        return mcp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services = scope["litestar_app"].state.services
        headers = Headers(scope=scope)  # type: ignore[arg-type]
        try:
            agent = await self._authenticate(services, headers)
        except ConnectorError as exc:
            presented = "authorization" in headers or "x-api-key" in headers
            await self._refuse(exc, send, presented=presented)
            return
        if scope.get("method") != "POST":
            # Stateless: no session to delete, and no server-initiated messages for a GET stream
            # to carry (the SDK would hold it open for nothing). The spec's answer is 405.
            await self._refuse(
                ValidationError("method not allowed on /mcp: send JSON-RPC with POST"),
                send,
                presented=True,
                status=405,
            )
            return
        scope[SCOPE_KEY] = McpCall(services=services, agent=agent, settings=self._settings.mcp)  # type: ignore[literal-required]
        await self.app(scope, receive, send)  # type: ignore[arg-type]

    async def _authenticate(self, services: Services, headers: Headers) -> Agent:
        """An API key (`Authorization: Bearer ck_…` or `X-API-Key`) with X-User-Id, else a
        Cognito access token as Bearer (user mode)."""
        authorization = headers.get("authorization")
        api_key = headers.get("x-api-key")
        if authorization is None and api_key is None:
            raise AuthenticationError(
                "send an API key and X-User-Id, or a Cognito access token, as Bearer"
            )
        token = api_key
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError("use 'Authorization: Bearer <key or access token>'")
            token = value.strip()
        access = services.agents()
        if api_key is not None or _API_KEY.match(token or ""):
            users = headers.getlist("x-user-id")
            if len(users) > 1:
                return await _with_refusal(
                    access.as_service(token, None),
                    ValidationError("send X-User-Id once", details={"field": "userId"}),
                )
            return await access.as_service(token, users[0] if users else None)
        return await access.as_user(token or "")

    async def _refuse(
        self, error: ConnectorError, send: Send, *, presented: bool, status: int | None = None
    ) -> None:
        """401 and 403 say where the OAuth metadata is (RFC 9728); others are envelopes."""
        mapped, body = failure(error)
        status = status or mapped
        headers = [(b"content-type", b"application/json")]
        if status == 405:
            headers.append((b"allow", b"POST"))
        if isinstance(error, AuthenticationError | PermissionDeniedError):
            challenge = ["Bearer"]
            if self._user_mode:
                challenge.append(f'resource_metadata="{self.resource_metadata_url}"')
            if isinstance(error, PermissionDeniedError):
                challenge.append('error="insufficient_scope"')
            elif presented:
                challenge.append('error="invalid_token"')
            value = (
                challenge[0] + " " + ", ".join(challenge[1:]) if len(challenge) > 1 else "Bearer"
            )
            headers.append((b"www-authenticate", value.encode()))
        retry_after = error.details.get("retryAfter")
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        }
        await send(start)
        await send(
            {"type": "http.response.body", "body": msgspec.json.encode(body), "more_body": False}
        )


async def _with_refusal(agent: Any, refusal: ConnectorError) -> Agent:
    found: Agent = await agent
    return Agent(mode=found.mode, key=found.key, user_id=None, refusal=refusal)
