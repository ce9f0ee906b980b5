"""/mcp in user mode (the MCP authorization spec), through the official MCP client against a live
`connector dev`: an agent signs its user in at the Hosted UI stand-in with PKCE, gets a Cognito
access token with the connector's resource-server scopes, and acts for the user's connection,
within the policy key's bounds."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from connector_client import ConnectorClient
from jose import jwt
from support.dev_stack import DevStack, running_dev_stack, sign_in
from support.login_form import parse_login_form
from support.mcp_client import mcp_session, structured, tool_error

from connector.sandbox.hosted_ui.keys import SigningKey

READ, WRITE = "connector/mcp.read", "connector/mcp.write"
MCP_TOOLS_READ = {
    "connection_status",
    "list_buckets",
    "list_objects",
    "read_object",
    "presign_object",
    "list_functions",
    "get_function",
}


@dataclass(frozen=True)
class UserModeStack:
    stack: DevStack
    policy_key_id: str

    @property
    def mcp(self) -> str:
        return f"{self.stack.url}/mcp"


def create_policy_key(data_dir: Path) -> str:
    """The key that bounds user mode, made before the sandbox starts (its id is configuration)."""
    data_dir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / 'connector.db'}"
    scopes = ("connection:read", "s3:read", "s3:write", "lambda:read", "lambda:invoke")
    made = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [
            *(sys.executable, "-m", "connector", "keys", "create", "--name", "mcp-agents"),
            *(arg for scope in scopes for arg in ("--scope", scope)),
            *("--bucket", "demo-*", "--function", "demo-*"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
        cwd=data_dir,
    )
    key_id: str = httpx.Response(200, content=made.stdout).json()["id"]
    return key_id


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserModeStack]:
    workdir = tmp_path_factory.mktemp("mcp-user")
    key_id = create_policy_key(workdir / "data")
    with running_dev_stack(workdir, {"CONNECTOR_MCP_POLICY_KEY": key_id}) as stack:
        with ConnectorClient(stack.url, stack.api_key) as client:
            sign_in(stack, client)
        yield UserModeStack(stack, key_id)


def agent_token(stack: DevStack, scope: str) -> str:
    """What an MCP client does: discover the authorization server from the connector, then the
    authorization code flow with PKCE S256 at the Hosted UI, as the demo user."""
    resource = httpx.get(f"{stack.url}/.well-known/oauth-protected-resource/mcp").json()
    issuer = resource["authorization_servers"][0]
    server = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    assert "S256" in server["code_challenge_methods_supported"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    callback = stack.facts["agentCallback"]
    query = {
        "response_type": "code",
        "client_id": stack.facts["agentClientId"],
        "redirect_uri": callback,
        "scope": scope,
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    auth_url = f"{server['authorization_endpoint']}?{urlencode(query)}"
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        form = parse_login_form(browser.get(auth_url).text)
        answers = {"username": stack.facts["username"], "password": stack.facts["password"]}
        signed_in = browser.post(urljoin(auth_url, form.action), data={**form.fields, **answers})
        back = signed_in.headers["location"]
        assert back.startswith(callback), back
        code = parse_qs(urlsplit(back).query)["code"][0]
        tokens = browser.post(
            server["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "client_id": stack.facts["agentClientId"],
                "code": code,
                "redirect_uri": callback,
                "code_verifier": verifier,
            },
        )
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_agent_acts_for_its_own_user_lists_reads_writes_and_invokes(
    users: UserModeStack,
) -> None:
    stack = users.stack
    token = agent_token(stack, f"openid {READ} {WRITE}")
    async with mcp_session(users.mcp, bearer(token)) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        status = structured(await session.call_tool("connection_status", {}))
        buckets = structured(await session.call_tool("list_buckets", {}))
        written = structured(
            await session.call_tool(
                "write_object",
                {"bucket": "demo-bucket", "key": "agent/user-mode.txt", "content": "mine"},
            )
        )
        read = structured(
            await session.call_tool(
                "read_object", {"bucket": "demo-bucket", "key": "agent/user-mode.txt"}
            )
        )
        invoked = structured(
            await session.call_tool(
                "invoke_function", {"name": stack.facts["functionName"], "payload": [1, 2]}
            )
        )

    assert names == MCP_TOOLS_READ | {"write_object", "delete_object", "invoke_function"}
    assert status["userId"] == stack.user_id
    assert status["status"] == "active"
    assert [b["name"] for b in buckets["buckets"]] == ["demo-bucket"]
    assert written["key"] == "agent/user-mode.txt"
    assert read["text"] == "mine"
    assert invoked["statusCode"] == 200
    assert invoked["payload"] == [1, 2]


async def test_a_bucket_outside_the_policy_keys_patterns_is_forbidden(users: UserModeStack) -> None:
    token = agent_token(users.stack, f"openid {READ}")
    async with mcp_session(users.mcp, bearer(token)) as session:
        refused = tool_error(await session.call_tool("list_objects", {"bucket": "payroll-archive"}))
        function = tool_error(await session.call_tool("get_function", {"name": "billing-job"}))

    assert refused["code"] == "FORBIDDEN"
    assert refused["details"] == {"bucket": "payroll-archive"}
    assert function["code"] == "FORBIDDEN"


async def test_a_read_scope_token_sees_and_may_call_only_the_read_tools(
    users: UserModeStack,
) -> None:
    token = agent_token(users.stack, f"openid {READ}")
    async with mcp_session(users.mcp, bearer(token)) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        refused = tool_error(
            await session.call_tool(
                "delete_object", {"bucket": "demo-bucket", "key": "agent/user-mode.txt"}
            )
        )

    assert names == MCP_TOOLS_READ
    assert refused["code"] == "FORBIDDEN"


def post_list(users: UserModeStack, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        users.mcp,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={**headers, "Accept": "application/json, text/event-stream"},
        timeout=10,
    )


def test_no_credentials_is_401_pointing_at_the_protected_resource_metadata(
    users: UserModeStack,
) -> None:
    stack = users.stack
    refused = post_list(users, {})
    metadata_url = f"{stack.url}/.well-known/oauth-protected-resource/mcp"
    resource = httpx.get(metadata_url).json()
    root = httpx.get(f"{stack.url}/.well-known/oauth-protected-resource").json()
    server = httpx.get(f"{stack.url}/.well-known/oauth-authorization-server").json()

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url}"'
    assert resource == root
    assert resource["resource"] == f"{stack.url}/mcp"
    assert resource["scopes_supported"] == [READ, WRITE]
    assert server["issuer"] == stack.url
    hosted_ui = stack.facts["hostedUiUrl"]
    assert server["authorization_endpoint"] == f"{hosted_ui}/oauth2/authorize"
    assert server["token_endpoint"] == f"{hosted_ui}/oauth2/token"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["jwks_uri"] == f"{stack.facts['issuer']}/.well-known/jwks.json"


def test_a_token_signed_by_a_foreign_key_is_401_invalid_token(users: UserModeStack) -> None:
    stack = users.stack
    forger = SigningKey.generate()
    now = int(time.time())
    claims = {
        "iss": stack.facts["issuer"],
        "sub": "anyone",
        "token_use": "access",
        "client_id": stack.facts["agentClientId"],
        "scope": f"{READ} {WRITE}",
        "iat": now,
        "exp": now + 600,
    }
    forged = jwt.encode(claims, forger.private_pem, algorithm="RS256", headers={"kid": forger.kid})

    refused = post_list(users, bearer(forged))

    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHORIZED"
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_the_connectors_own_clients_token_is_refused(users: UserModeStack) -> None:
    """`GET /token` hands the connector's own access tokens to keys with token:read: they must
    never pass as an agent's."""
    stack = users.stack
    with stack.api(stack.user_id) as api:
        own = api.get("/token").json()["data"]["accessToken"]

    refused = post_list(users, bearer(own))

    assert refused.status_code == 401
    assert "client_id" in refused.json()["error"]


def test_a_token_without_the_resource_scopes_is_403_insufficient_scope(
    users: UserModeStack,
) -> None:
    token = agent_token(users.stack, "openid email")

    refused = post_list(users, bearer(token))

    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
