"""The sandbox's MCP agent client: a public app client of the stand-in (PKCE, no secret) that may
ask for the connector's resource-server scopes, as an agent registered at Cognito would."""

from __future__ import annotations

from connector.sandbox.hosted_ui import AppClient

AGENT_CLIENT_ID = "connector-dev-agent"
AGENT_SCOPES = ("openid", "email", "profile", "connector/mcp.read", "connector/mcp.write")
# Where MCP clients commonly receive the code: the MCP Inspector's callback, and a loopback one.
INSPECTOR_CALLBACKS = (
    "http://localhost:6274/oauth/callback",
    "http://127.0.0.1:6274/oauth/callback",
)


def agent_callback(app_url: str) -> str:
    """A callback on the demo app's origin (scripts and tests read the code off the redirect)."""
    return f"{app_url}/agent/callback"


def agent_client(app_url: str) -> AppClient:
    return AppClient(
        client_id=AGENT_CLIENT_ID,
        callback_urls=(agent_callback(app_url), *INSPECTOR_CALLBACKS),
        allowed_scopes=AGENT_SCOPES,
    )
