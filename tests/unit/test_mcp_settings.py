"""MCP settings: user mode's client ids (never the connector's own), the resource server, bounds."""

from __future__ import annotations

import pytest

from connector.errors import ConfigurationError
from connector.settings import McpSettings, Settings

COGNITO = {
    "AWS_COGNITO_DOMAIN": "my-domain",
    "AWS_COGNITO_CLIENT_ID": "client123",
    "AWS_REGION": "eu-west-1",
    "AWS_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
}


def test_user_mode_is_off_by_default_with_a_one_mebibyte_read_limit() -> None:
    mcp = Settings.from_env({}).mcp
    assert mcp == McpSettings()
    assert mcp.client_ids == ()
    assert mcp.max_read_bytes == 1 << 20
    assert (mcp.read_scope, mcp.write_scope) == ("connector/mcp.read", "connector/mcp.write")


def test_client_ids_resource_server_policy_key_and_origins_are_read() -> None:
    mcp = Settings.from_env(
        {
            **COGNITO,
            "CONNECTOR_MCP_CLIENT_IDS": " agent-a , agent-b,agent-a ",
            "CONNECTOR_MCP_RESOURCE_SERVER": "https://api.example.com",
            "CONNECTOR_MCP_POLICY_KEY": "0123abcd",
            "CONNECTOR_MCP_MAX_READ_BYTES": "4096",
            "CONNECTOR_MCP_ALLOWED_ORIGINS": "https://agents.example.com",
        }
    ).mcp
    assert mcp.client_ids == ("agent-a", "agent-b")
    assert mcp.read_scope == "https://api.example.com/mcp.read"
    assert mcp.policy_key_id == "0123abcd"
    assert mcp.max_read_bytes == 4096
    assert mcp.allowed_origins == ("https://agents.example.com",)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({**COGNITO, "CONNECTOR_MCP_CLIENT_IDS": "agent,client123"}, "own app client"),
        ({"CONNECTOR_MCP_CLIENT_IDS": "agent"}, "needs Cognito"),
        ({**COGNITO, "CONNECTOR_MCP_RESOURCE_SERVER": "has space"}, "resource-server"),
        ({"CONNECTOR_MCP_MAX_READ_BYTES": "0"}, "whole number"),
        ({"CONNECTOR_MCP_MAX_READ_BYTES": str(64 << 20)}, "whole number"),
        ({"CONNECTOR_MCP_ALLOWED_ORIGINS": "https://a.example/path"}, "origin"),
    ],
    ids=["own-client", "no-cognito", "resource-server", "zero", "too-large", "not-an-origin"],
)
def test_bad_mcp_configuration_stops_the_start_naming_its_variable(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)
    assert caught.value.variable.startswith("CONNECTOR_MCP_")
    assert problem in str(caught.value)
