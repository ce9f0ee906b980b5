"""The inline budget of one JSON-RPC request, end to end (stand-in + moto): `getObject` answers
and `putObject` bodies share it; calls past it are VALIDATION_ERROR pointing to presign, and
nothing past it is read from S3 or written to it."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest
from support.aws_world import connect_alice
from support.oauth_world import CognitoWorld, Instance

from connector.settings import RpcSettings

MiB = 1 << 20
# One call at a time, so which call meets the spent budget is the batch's order.
RPC = RpcSettings(max_object_bytes=2 * MiB, max_inline_bytes=5 * MiB, batch_concurrency=1)


@pytest.fixture
async def bounded(world: CognitoWorld) -> Instance:
    world.settings = replace(world.settings, rpc=RPC)
    instance = await world.instance()
    await connect_alice(world, instance)
    return instance


def call(n: int, method: str, **params: Any) -> dict[str, Any]:
    params = {k: v.decode() if isinstance(v, bytes) else v for k, v in params.items()}
    return {"jsonrpc": "2.0", "method": method, "params": {"userId": "alice", **params}, "id": n}


async def batch(world: CognitoWorld, instance: Instance, calls: list[dict[str, Any]]) -> list[Any]:
    key = await world.key(instance, "s3:read", "s3:write")
    answer = await instance.client.post("/rpc", json=calls, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    return [reply["result"] for reply in answer.json()]


async def test_reads_past_the_requests_budget_are_refused(
    world: CognitoWorld, bounded: Instance, aws: dict[str, Any]
) -> None:
    for name in ("a", "b", "c"):
        aws["s3"].put_object(Bucket="alice-data", Key=name, Body=name.encode() * (2 * MiB))
    aws["s3"].put_object(Bucket="alice-data", Key="big", Body=b"x" * (2 * MiB + 1))
    calls = [call(n, "getObject", bucket="alice-data", key=k) for n, k in enumerate("abcb")]
    a, b, c, b_again = await batch(world, bounded, calls)
    assert base64.b64decode(a["data"]["body"]) == b"a" * (2 * MiB)
    assert base64.b64decode(b["data"]["body"]) == b"b" * (2 * MiB)
    for refused in (c, b_again):  # 4 MiB carried; 2 more would pass the 5 MiB of the request
        assert refused["code"] == "VALIDATION_ERROR"
        assert refused["details"] == {"field": "key", "requestLimit": 5 * MiB, "use": "presign"}
        assert "presign (method GET)" in refused["error"]
    (too_large,) = await batch(
        world, bounded, [call(1, "getObject", bucket="alice-data", key="big")]
    )
    assert too_large["details"] == {"field": "key", "limit": 2 * MiB, "use": "presign"}


async def test_a_failed_read_gives_its_share_back(
    world: CognitoWorld, bounded: Instance, aws: dict[str, Any]
) -> None:
    for name in ("a", "b"):
        aws["s3"].put_object(Bucket="alice-data", Key=name, Body=b"x" * (2 * MiB))
    missing, a, b = await batch(
        world,
        bounded,
        [
            call(n, "getObject", bucket="alice-data", key=k)
            for n, k in enumerate(["nope", "a", "b"])
        ],
    )
    assert missing["code"] == "NOT_FOUND"
    assert a["success"]
    assert b["success"]


async def test_writes_share_the_budget_and_nothing_past_it_is_stored(
    world: CognitoWorld, bounded: Instance, aws: dict[str, Any]
) -> None:
    # 5.5 MiB in all: within the body limit (the budget as base64 and 1 MiB), past the budget.
    sizes = [2 * MiB, 2 * MiB, 3 * MiB // 2]
    calls = [
        call(n, "putObject", bucket="alice-data", key=f"w{n}", body=base64.b64encode(b"w" * size))
        for n, size in enumerate(sizes)
    ]
    first, second, third = await batch(world, bounded, calls)
    assert first["success"]
    assert second["success"]
    assert third["code"] == "VALIDATION_ERROR"
    assert third["details"] == {"field": "body", "requestLimit": 5 * MiB, "use": "presign"}
    assert "presign (method PUT)" in third["error"]
    listed = aws["s3"].list_objects_v2(Bucket="alice-data")["Contents"]
    assert sorted(item["Key"] for item in listed) == ["w0", "w1"]
