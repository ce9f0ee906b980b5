"""What `connector dev` prints once everything answers: a banner and one machine-readable line."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

READY_MARKER = "CONNECTOR_DEV_READY"
DEMO_USER_ID = "demo-user"
_RULE = "=" * 78


class DevFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Everything a person or a test needs to use the running sandbox."""

    demo_app_url: str
    """The demo web app: the place to start."""
    connector_url: str
    hosted_ui_url: str
    demo_return_url: str
    """A return URL that only shows what the connector sent (for flows driven by hand)."""
    aws_endpoint_url: str
    region: str
    username: str
    password: str
    email: str
    api_key: str
    api_key_name: str
    user_id: str
    user_pool_id: str
    identity_pool_id: str
    client_id: str
    issuer: str
    bucket: str
    objects: tuple[str, ...]
    function_name: str
    identity_binding: str
    data_dir: str
    env_file: str
    keys_command: str
    """`connector keys list` against the sandbox's database, exactly as a shell runs it."""
    from_environment: tuple[str, ...]
    """The CONNECTOR_* settings taken from the developer's environment (names only)."""
    served_paths: tuple[str, ...]
    """The routes of the running connector."""
    mcp_url: str
    """The MCP endpoint (Streamable HTTP)."""
    agent_client_id: str
    """The stand-in's app client for MCP user mode (public, PKCE)."""
    agent_callback: str
    """A callback URL registered for the agent client."""
    partner: PartnerFacts | None = None
    """The second provider (`partner`), when the sandbox runs two."""


class PartnerFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The second provider of the sandbox: its own domain on the same stand-in, pools, user."""

    provider: str
    hosted_ui_url: str
    issuer: str
    user_pool_id: str
    identity_pool_id: str
    client_id: str
    username: str
    password: str
    email: str


def mcp_client_config(facts: DevFacts) -> str:
    """A ready-to-paste MCP client configuration (the `mcpServers` shape most clients read):
    service mode, the demo key acting for the demo user."""
    config = {
        "mcpServers": {
            "connector": {
                "type": "http",
                "url": facts.mcp_url,
                "headers": {
                    "Authorization": f"Bearer {facts.api_key}",
                    "X-User-Id": facts.user_id,
                },
            }
        }
    }
    return msgspec.json.format(msgspec.json.encode(config), indent=2).decode()


def ready_line(facts: DevFacts) -> str:
    return f"{READY_MARKER} {msgspec.json.encode(facts).decode()}"


def banner(facts: DevFacts) -> str:
    """The human-readable summary: the demo app first, then copy-pasteable commands."""
    url, key = facts.connector_url, facts.api_key
    auth = f'-H "Authorization: Bearer {key}"'
    user = f'{auth} -H "X-User-Id: {facts.user_id}"'
    redirect = quote(facts.demo_return_url, safe="")
    sign_in = f"{facts.username} / {facts.password}"
    lines = [
        _RULE,
        " connector dev: the embedded sandbox is running (Ctrl-C stops everything)",
        _RULE,
        f" Demo app       {facts.demo_app_url}   <- start here: pick an app user, Connect,",
        f"                sign in as {sign_in}, and come back connected",
        f" Connector      {url}   (OpenAPI UI at {url}/schema/swagger)",
        f" Hosted UI      {facts.hosted_ui_url}   (Cognito stand-in, issuer {facts.issuer})",
        f" AWS emulator   {facts.aws_endpoint_url}   (moto, region {facts.region})",
        f" Demo user      {sign_in}   ({facts.email})",
        f" API key        {key}   ({facts.api_key_name}: every scope)",
        f" Binding        CONNECTOR_IDENTITY_BINDING={facts.identity_binding}",
        f" User pool      {facts.user_pool_id}   app client {facts.client_id}",
        f" Identity pool  {facts.identity_pool_id}",
        f" Demo data      s3://{facts.bucket} ({', '.join(facts.objects)}),"
        f" Lambda {facts.function_name}",
        f" Data dir       {facts.data_dir}",
        f" Env file       {facts.env_file}   (URLs, $KEY, the database)",
    ]
    partner = facts.partner
    if partner is not None:
        lines += [
            f" Provider {partner.provider}: Hosted UI {partner.hosted_ui_url} (issuer"
            f" {partner.issuer}),",
            f"                user pool {partner.user_pool_id}, identity pool"
            f" {partner.identity_pool_id},",
            f"                sign in as {partner.username} / {partner.password}"
            f"   (add ?provider={partner.provider})",
        ]
    if facts.from_environment:
        lines.append(f" Yours          {', '.join(facts.from_environment)} (from the environment)")
    lines += [
        "",
        " Beside it, in another shell (the same database; `set -a; . FILE; set +a` defines",
        " $CONNECTOR_URL, $KEY and the rest for curl):",
        f"   {facts.keys_command}",
        "",
        " By hand, as an app does it (the demo app does all this for you):",
        f"   curl -s {url}/health",
        f'   curl -s "{url}/connect?redirect_uri={redirect}" {user}',
        f"   # open data.authUrl in a browser and sign in as {sign_in}",
    ]
    if facts.identity_binding == "confirm":
        lines += [
            "   # the page it returns to shows confirmation=...; within 60 s, as the same user:",
            f"   curl -s -X POST {url}/connect/confirm {user} -H 'Content-Type: application/json'"
            ' -d \'{"confirmation": "<confirmation>"}\'',
        ]
    lines += [
        f"   curl -s {url}/connection {user}",
        f"   curl -s {url}/s3/buckets {user}",
        f"   curl -s -X POST {url}/lambda/functions/{facts.function_name}/invoke {user}"
        ' -d \'{"payload": {"hello": 1}}\'',
        f"   curl -s -X POST {url}/disconnect {user}",
        "",
        " MCP (AI agents, Streamable HTTP at /mcp), once the demo user is connected; paste into",
        " your MCP client's configuration:",
        *(f"   {line}" for line in mcp_client_config(facts).splitlines()),
        f" User mode: app client {facts.agent_client_id} (PKCE, scopes connector/mcp.read"
        f" connector/mcp.write),",
        f" callback {facts.agent_callback}; metadata at"
        f" {url}/.well-known/oauth-protected-resource/mcp",
        "",
        " The emulator directly (dummy credentials 'testing'):",
        f"   aws --endpoint-url {facts.aws_endpoint_url} s3 ls s3://{facts.bucket} --recursive",
        _RULE,
    ]
    return "\n".join(lines)
