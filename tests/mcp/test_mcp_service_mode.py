"""/mcp in service mode, through the official MCP client against a live `connector dev`: an
agent platform's API key, the user named by X-User-Id, the key's scopes and policy first."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connector_client import ConnectorClient
from support.dev_stack import DevStack, running_dev_stack, sign_in
from support.mcp_client import mcp_session, structured, tool_error

EVERY_TOOL = {
    "connection_status",
    "list_buckets",
    "list_objects",
    "read_object",
    "write_object",
    "delete_object",
    "presign_object",
    "list_functions",
    "get_function",
    "invoke_function",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with running_dev_stack(tmp_path_factory.mktemp("mcp-service")) as running:
        with ConnectorClient(running.url, running.api_key) as client:
            sign_in(running, client)
        yield running


def create_key(stack: DevStack, *options: str) -> str:
    """`connector keys create` beside the sandbox (its env file names the same database)."""
    command = stack.facts["keysCommand"].replace("keys list", "keys create " + " ".join(options))
    made = subprocess.run(  # noqa: S603 - our own CLI, as the banner prints it
        ["/bin/bash", "-c", command], capture_output=True, text=True, timeout=60, check=True
    )
    key: str = json.loads(made.stdout)["key"]
    return key


def as_user(stack: DevStack, key: str | None = None, user: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key or stack.api_key}"}
    if user is not None:
        headers["X-User-Id"] = user
    return headers


async def fetch(url: str) -> bytes:
    """A presigned URL, fetched with no credentials of ours."""
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(url)).content


def mcp_url(stack: DevStack) -> str:
    return f"{stack.url}/mcp"


async def test_every_tool_is_listed_with_a_schema_a_description_and_annotations(
    stack: DevStack,
) -> None:
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}

    assert set(tools) == EVERY_TOOL
    for tool in tools.values():
        assert tool.description
        assert "\n" not in tool.description.strip()
        assert tool.inputSchema["type"] == "object"
        assert tool.outputSchema is not None
        assert tool.outputSchema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.readOnlyHint is not None
        assert tool.annotations.destructiveHint is not None
        assert tool.annotations.idempotentHint is not None
    assert tools["read_object"].annotations.readOnlyHint is True  # type: ignore[union-attr]
    assert tools["delete_object"].annotations.destructiveHint is True  # type: ignore[union-attr]
    assert tools["invoke_function"].annotations.idempotentHint is False  # type: ignore[union-attr]
    assert set(tools["list_objects"].inputSchema["required"]) == {"bucket"}
    assert "nextContinuationToken" in tools["list_objects"].outputSchema["properties"]  # type: ignore[index]


async def test_the_agent_lists_reads_writes_and_deletes_the_users_objects(
    stack: DevStack,
) -> None:
    bucket = stack.facts["bucket"]
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        buckets = structured(await session.call_tool("list_buckets", {}))
        listed = structured(
            await session.call_tool("list_objects", {"bucket": bucket, "max_keys": 1})
        )
        written = structured(
            await session.call_tool(
                "write_object",
                {"bucket": bucket, "key": "agent/notes.md", "content": "# Hello from an agent"},
            )
        )
        read = structured(
            await session.call_tool("read_object", {"bucket": bucket, "key": "agent/notes.md"})
        )
        binary = structured(
            await session.call_tool(
                "write_object",
                {
                    "bucket": bucket,
                    "key": "agent/blob.bin",
                    "content": base64.b64encode(b"\x00\xff\x10").decode(),
                    "encoding": "base64",
                    "content_type": "application/octet-stream",
                },
            )
        )
        as_url = structured(
            await session.call_tool("read_object", {"bucket": bucket, "key": "agent/blob.bin"})
        )
        downloaded = await fetch(as_url["url"])  # presigned as the user
        deleted = structured(
            await session.call_tool("delete_object", {"bucket": bucket, "key": "agent/blob.bin"})
        )

    assert [b["name"] for b in buckets["buckets"]] == [bucket]
    assert len(listed["objects"]) == 1
    assert listed["isTruncated"] is True
    assert listed["nextContinuationToken"]
    assert written["key"] == "agent/notes.md"
    assert written["etag"]
    assert read["text"] == "# Hello from an agent"
    assert read["contentType"].startswith("text/plain")
    assert read["url"] is None
    assert binary["key"] == "agent/blob.bin"
    assert as_url["text"] is None
    assert as_url["reason"] == "binary"
    assert downloaded == b"\x00\xff\x10"
    assert deleted == {"deleted": True}


async def test_an_object_over_the_read_limit_comes_back_as_a_presigned_url(
    stack: DevStack,
) -> None:
    bucket, big = stack.facts["bucket"], "x" * ((1 << 20) + 1)  # one byte over the default
    with stack.api(stack.user_id) as api:
        assert api.put(f"/s3/buckets/{bucket}/objects/agent/big.txt", content=big).is_success
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        read = structured(
            await session.call_tool("read_object", {"bucket": bucket, "key": "agent/big.txt"})
        )
        too_big = tool_error(
            await session.call_tool(
                "write_object", {"bucket": bucket, "key": "agent/big2.txt", "content": big + "y"}
            )
        )

    assert read["reason"] == "too_large"
    assert read["text"] is None
    assert await fetch(read["url"]) == big.encode()
    assert too_big["code"] == "VALIDATION_ERROR"
    assert "presign_object" in too_big["error"]


async def test_the_agent_invokes_the_demo_function_and_reads_its_log_tail(
    stack: DevStack,
) -> None:
    name = stack.facts["functionName"]
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        functions = structured(await session.call_tool("list_functions", {}))
        described = structured(await session.call_tool("get_function", {"name": name}))
        invoked = structured(
            await session.call_tool(
                "invoke_function",
                {"name": name, "payload": {"hello": [1, "two"]}, "include_log": True},
            )
        )

    assert name in [f["name"] for f in functions["functions"]]
    assert described["name"] == name
    assert described["runtime"]
    assert invoked["statusCode"] == 200
    assert invoked["payload"] == {"hello": [1, "two"]}
    assert invoked["functionError"] is None


async def test_a_bucket_outside_a_restricted_keys_policy_is_forbidden_before_any_aws_call(
    stack: DevStack,
) -> None:
    restricted = create_key(stack, "--name", "mcp-restricted", "--bucket", "'other-*'")
    headers = as_user(stack, restricted, stack.user_id)
    async with mcp_session(mcp_url(stack), headers) as session:
        refused = tool_error(
            await session.call_tool(
                "list_objects", {"bucket": stack.facts["bucket"], "prefix": "docs/"}
            )
        )
        read = tool_error(
            await session.call_tool("read_object", {"bucket": stack.facts["bucket"], "key": "a"})
        )
        buckets = structured(await session.call_tool("list_buckets", {}))

    assert refused["code"] == "FORBIDDEN"
    assert refused["details"] == {"bucket": stack.facts["bucket"]}
    assert read["code"] == "FORBIDDEN"
    assert buckets == {"buckets": []}  # listings show only what the policy covers


async def test_tools_list_shows_only_the_tools_a_read_only_key_may_call(stack: DevStack) -> None:
    reader = create_key(stack, "--name", "mcp-reader", "--scope", "s3:read")
    async with mcp_session(mcp_url(stack), as_user(stack, reader, stack.user_id)) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        refused = tool_error(
            await session.call_tool(
                "write_object", {"bucket": stack.facts["bucket"], "key": "k", "content": "x"}
            )
        )

    assert names == {"list_buckets", "list_objects", "read_object", "presign_object"}
    assert refused["code"] == "FORBIDDEN"
    assert refused["details"] == {"requiredScope": "s3:write"}


async def test_a_missing_or_malformed_user_is_a_tool_error_and_listing_still_works(
    stack: DevStack,
) -> None:
    async with mcp_session(mcp_url(stack), as_user(stack)) as session:
        listed = await session.list_tools()
        missing = tool_error(await session.call_tool("list_buckets", {}))
    async with mcp_session(mcp_url(stack), as_user(stack, user="bad user!")) as session:
        malformed = tool_error(await session.call_tool("list_buckets", {}))
    async with mcp_session(mcp_url(stack), as_user(stack, user="nobody-here")) as session:
        stranger = tool_error(await session.call_tool("list_buckets", {}))

    assert len(listed.tools) == len(EVERY_TOOL)
    assert missing["code"] == "MISSING_USER_ID"
    assert malformed["code"] == "VALIDATION_ERROR"
    assert stranger["code"] == "NOT_CONNECTED"


async def test_an_unknown_tool_and_wrong_argument_types_are_tool_errors(stack: DevStack) -> None:
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        unknown = await session.call_tool("drop_all_buckets", {})
        wrong_type = await session.call_tool(
            "list_objects", {"bucket": stack.facts["bucket"], "max_keys": "many"}
        )
        missing = await session.call_tool("read_object", {"bucket": stack.facts["bucket"]})
        out_of_range = await session.call_tool(
            "presign_object", {"bucket": "b", "key": "k", "expires_in": 99999}
        )

    for result in (unknown, wrong_type, missing, out_of_range):
        assert result.isError, result
        assert result.content
        assert result.content[0].type == "text"
    assert "drop_all_buckets" in _text(unknown)
    assert "max_keys" in _text(wrong_type)
    assert "key" in _text(missing)


def _text(result: Any) -> str:
    return str(result.content[0].text)


def test_a_request_without_credentials_is_401_and_a_bad_key_too(stack: DevStack) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    anonymous = httpx.post(mcp_url(stack), json=body, headers=headers)
    bad_key = httpx.post(
        mcp_url(stack),
        json=body,
        headers={**headers, "Authorization": "Bearer ck_0123456789abcdef_nope"},
    )

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "UNAUTHORIZED"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert bad_key.status_code == 401
    assert 'error="invalid_token"' in bad_key.headers["www-authenticate"]


def test_a_foreign_origin_is_refused(stack: DevStack) -> None:
    refused = httpx.post(
        mcp_url(stack),
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            **as_user(stack, user=stack.user_id),
            "Accept": "application/json, text/event-stream",
            "Origin": "https://evil.example",
        },
    )

    assert refused.status_code == 403


def raw_call(stack: DevStack, body: object, **headers: str) -> httpx.Response:
    """One HTTP request to /mcp, as any replica would get it: no session, no initialize."""
    return httpx.post(
        mcp_url(stack),
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={
            **as_user(stack, user=stack.user_id),
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
        timeout=10,
    )


def test_a_tool_call_needs_no_session_so_any_replica_serves_it(stack: DevStack) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "list_buckets", "arguments": {}},
    }

    answered = raw_call(stack, call)

    assert answered.status_code == 200
    assert "mcp-session-id" not in answered.headers
    result = answered.json()["result"]
    assert result["structuredContent"]["buckets"][0]["name"] == stack.facts["bucket"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"jsonrpc": "2.0", "id": 1}', b'{"jsonrpc": "2.0", "method": 5}'],
    ids=["not-json", "empty-batch", "no-method", "method-not-a-string"],
)
def test_malformed_json_rpc_is_a_client_error_never_a_500(stack: DevStack, body: bytes) -> None:
    answered = raw_call(stack, body)

    assert 400 <= answered.status_code < 500, answered.text


def test_other_methods_on_mcp_are_refused_without_a_500(stack: DevStack) -> None:
    headers = {**as_user(stack, user=stack.user_id), "Accept": "text/event-stream"}
    got = httpx.get(mcp_url(stack), headers=headers, timeout=10)
    deleted = httpx.delete(mcp_url(stack), headers=headers, timeout=10)

    assert got.status_code == 405
    assert deleted.status_code == 405
    assert got.headers["allow"] == "POST"
    assert got.json()["code"] == "VALIDATION_ERROR"


async def test_every_tool_call_is_one_audit_event_without_arguments(stack: DevStack) -> None:
    async with mcp_session(mcp_url(stack), as_user(stack, user=stack.user_id)) as session:
        await session.call_tool(
            "write_object",
            {"bucket": stack.facts["bucket"], "key": "agent/audited.txt", "content": "secret-ish"},
        )
        await session.call_tool("list_objects", {"bucket": "not-ours-1"})
    lines = stack.log.read_text(errors="replace").splitlines()
    audited = [line for line in lines if "mcp tool call" in line]

    resource = f"{stack.facts['bucket']}/agent/audited.txt"
    assert any(f"tool=write_object resource={resource} outcome=ok" in line for line in audited)
    assert all("provider=default " in line for line in audited[-2:])
    assert any(
        "tool=list_objects resource=not-ours-1 outcome=NOT_FOUND" in line for line in audited
    )
    assert all(f"user={stack.user_id}" in line for line in audited[-2:])
    assert not any("secret-ish" in line for line in lines)
    assert not any(stack.api_key in line for line in lines)


def test_the_banner_prints_a_ready_to_paste_mcp_client_configuration(stack: DevStack) -> None:
    printed = "\n".join(line.strip() for line in stack.stdout)
    start = printed.index('{\n"mcpServers"')
    config, _ = json.JSONDecoder().raw_decode(printed[start:])

    server = config["mcpServers"]["connector"]
    assert server["url"] == f"{stack.url}/mcp"
    assert server["headers"] == {
        "Authorization": f"Bearer {stack.api_key}",
        "X-User-Id": stack.user_id,
    }
    assert stack.facts["mcpUrl"] == f"{stack.url}/mcp"
