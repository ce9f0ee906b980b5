"""OAuth discovery for MCP user mode: the protected resource's metadata (RFC 9728) and, since
Cognito publishes no `code_challenge_methods_supported`, authorization-server metadata
(RFC 8414) of the connector's own that points at the user pool's endpoints and states S256."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from connector.api.mcp.endpoint import MCP_PATH, PROTECTED_RESOURCE_PATH
from connector.errors import NotFoundError
from connector.settings import Settings

AUTHORIZATION_SERVER_PATH = "/.well-known/oauth-authorization-server"
# Metadata is public and the same for everyone; clients may keep it for an hour.
CACHE = {"Cache-Control": "public, max-age=3600"}


def protected_resource(settings: Settings) -> dict[str, Any]:
    """RFC 9728: the resource (`<public url>/mcp`), its authorization server and scopes."""
    public = settings.server.public_url
    return {
        "resource": f"{public}{MCP_PATH}",
        "authorization_servers": [public],
        "scopes_supported": [settings.mcp.read_scope, settings.mcp.write_scope],
        "bearer_methods_supported": ["header"],
        "resource_name": "connector MCP: AWS (S3, Lambda) as the signed-in user",
    }


def authorization_server(settings: Settings) -> dict[str, Any]:
    """RFC 8414, for clients pre-registered as Cognito app clients (no dynamic registration)."""
    cognito = settings.cognito
    if cognito is None:
        raise NotFoundError("Cognito is not configured on this connector")
    oauth2 = f"{cognito.base_url}/oauth2"
    return {
        "issuer": settings.server.public_url,
        "authorization_endpoint": f"{oauth2}/authorize",
        "token_endpoint": f"{oauth2}/token",
        "revocation_endpoint": f"{oauth2}/revoke",
        "userinfo_endpoint": f"{oauth2}/userInfo",
        "jwks_uri": cognito.jwks_url,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": [
            "openid",
            "email",
            "profile",
            settings.mcp.read_scope,
            settings.mcp.write_scope,
        ],
    }


def _user_mode_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    if settings.cognito is None or not settings.mcp.client_ids:
        raise NotFoundError("MCP user mode is not enabled here: agents use an API key")
    return settings


class McpDiscoveryController(Controller):
    path = "/.well-known"
    tags = ["mcp"]
    include_in_schema = False

    @get(
        [
            PROTECTED_RESOURCE_PATH.removeprefix("/.well-known"),
            f"{PROTECTED_RESOURCE_PATH.removeprefix('/.well-known')}{MCP_PATH}",
        ],
        operation_id="mcpProtectedResource",
        response_headers=CACHE,
    )
    async def get_protected_resource(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Where MCP clients learn which authorization server and scopes /mcp takes."""
        return protected_resource(_user_mode_settings(request))

    @get(
        AUTHORIZATION_SERVER_PATH.removeprefix("/.well-known"),
        operation_id="mcpAuthorizationServer",
        response_headers=CACHE,
    )
    async def get_authorization_server(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """The user pool's endpoints, with PKCE S256, for MCP clients."""
        return authorization_server(_user_mode_settings(request))
