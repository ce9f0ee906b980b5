"""What `connector dev` prints once everything answers: a banner and one machine-readable line."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

READY_MARKER = "CONNECTOR_DEV_READY"
DEMO_USER_ID = "demo-user"
COMING = "(coming with AWS operations)"
_RULE = "=" * 78


class DevFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Everything a person or a test needs to use the running sandbox."""

    connector_url: str
    hosted_ui_url: str
    demo_return_url: str
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
    data_dir: str
    served_paths: tuple[str, ...]
    """The routes of the running connector, so callers can tell what it offers yet."""


def ready_line(facts: DevFacts) -> str:
    return f"{READY_MARKER} {msgspec.json.encode(facts).decode()}"


def banner(facts: DevFacts) -> str:
    """The human-readable summary, with copy-pasteable curl lines."""
    url, key = facts.connector_url, facts.api_key
    auth = f'-H "Authorization: Bearer {key}"'
    user = f'{auth} -H "X-User-Id: {facts.user_id}"'
    redirect = quote(facts.demo_return_url, safe="")

    def later(path: str) -> str:
        return "" if path in facts.served_paths else f"   {COMING}"

    lines = [
        _RULE,
        " connector dev: the embedded sandbox is running (Ctrl-C stops everything)",
        _RULE,
        f" Connector      {url}   (OpenAPI at {url}/schema/scalar)",
        f" Hosted UI      {facts.hosted_ui_url}   (Cognito stand-in, issuer {facts.issuer})",
        f" Return page    {facts.demo_return_url}",
        f" AWS emulator   {facts.aws_endpoint_url}   (moto, region {facts.region})",
        f" Demo user      {facts.username} / {facts.password}   ({facts.email})",
        f" API key        {key}   ({facts.api_key_name}: every scope)",
        f" User pool      {facts.user_pool_id}   app client {facts.client_id}",
        f" Identity pool  {facts.identity_pool_id}",
        f" Demo data      s3://{facts.bucket} ({', '.join(facts.objects)}),"
        f" Lambda {facts.function_name}",
        f" Data dir       {facts.data_dir}",
        "",
        " Try it (the connector acts for the user named by X-User-Id):",
        f"   curl -s {url}/health",
        f'   curl -s "{url}/connect?redirect_uri={redirect}" {user}',
        "   # open data.authUrl from that answer in a browser and sign in as"
        f" {facts.username} / {facts.password}:",
        '   python3 -m webbrowser "<authUrl>"',
        f"   curl -s {url}/connect/status/<state> {auth}",
        f"   curl -s {url}/connection {user}",
        f"   curl -s {url}/token {user}",
        f"   curl -s {url}/s3/buckets {user}{later('/s3/buckets')}",
        f"   curl -s {url}/lambda/functions {user}{later('/lambda/functions')}",
        f"   curl -s -X POST {url}/disconnect {user}",
        "",
        " The emulator directly (dummy credentials 'testing'):",
        f"   aws --endpoint-url {facts.aws_endpoint_url} s3 ls s3://{facts.bucket} --recursive",
        _RULE,
    ]
    return "\n".join(lines)
