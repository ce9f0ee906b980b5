"""Every AWS operation acting for alice reaches the emulator signed with alice's own access key
id (moto checks no signature: these tests read who signed each request it received)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from support.aws_world import connect_alice, headers
from support.oauth_world import CognitoWorld, Instance
from support.signers import CONNECTOR_ACCESS_KEY, SigningRecorder

ALL = ("s3:read", "s3:write", "lambda:read", "lambda:invoke", "credentials:read")


@pytest.fixture
async def alice(world: CognitoWorld, replica: Instance, aws: dict[str, Any]) -> dict[str, str]:
    await connect_alice(world, replica)
    return headers(await world.key(replica, *ALL))


async def alices_key_id(replica: Instance, alice: dict[str, str]) -> str:
    answer = await replica.client.get("/credentials", headers=alice)
    assert answer.status_code == 200, answer.text
    key_id: str = answer.json()["data"]["accessKeyId"]
    assert key_id != CONNECTOR_ACCESS_KEY
    return key_id


async def test_s3_operations_are_signed_with_the_users_key(
    replica: Instance, alice: dict[str, str], signatures: SigningRecorder
) -> None:
    expected = await alices_key_id(replica, alice)
    signatures.clear()
    http = replica.client
    path = "/s3/buckets/alice-data/objects/signed.txt"
    assert (await http.get("/s3/buckets", headers=alice)).status_code == 200
    assert (await http.put(path, headers=alice, content=b"mine")).status_code == 200
    assert (await http.get(path, headers=alice)).content == b"mine"
    listed = await http.get("/s3/buckets/alice-data/objects", headers=alice)
    assert listed.status_code == 200
    assert (await http.delete(path, headers=alice)).status_code == 200
    assert signatures.signers("s3") == {expected}
    methods = {r.method for r in signatures.signed_by(expected)}
    assert methods == {"GET", "PUT", "DELETE"}


async def test_lambda_operations_are_signed_with_the_users_key(
    replica: Instance, alice: dict[str, str], signatures: SigningRecorder
) -> None:
    expected = await alices_key_id(replica, alice)
    signatures.clear()
    http = replica.client
    assert (await http.get("/lambda/functions", headers=alice)).status_code == 200
    assert (await http.get("/lambda/functions/echo", headers=alice)).status_code == 200
    invoked = await http.post(
        "/lambda/functions/echo/invoke", headers=alice, json={"payload": {"n": 1}}
    )
    assert invoked.status_code == 200, invoked.text
    assert signatures.signers("lambda") == {expected}
    assert len(signatures.signed_by(expected)) >= 3


async def test_a_presigned_url_carries_the_users_key(
    replica: Instance, alice: dict[str, str], signatures: SigningRecorder
) -> None:
    expected = await alices_key_id(replica, alice)
    signed = await replica.client.post(
        "/s3/presign",
        headers=alice,
        json={"bucket": "alice-data", "key": "up.txt", "method": "PUT", "expiresIn": 60},
    )
    assert signed.status_code == 200, signed.text
    url = signed.json()["data"]["url"]
    assert f"X-Amz-Credential={expected}%2F" in url
    signatures.clear()
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await browser.put(url, content=b"by url")).status_code == 200
    assert signatures.signers("s3", "/up.txt") == {expected}


async def test_rpc_methods_are_signed_with_the_users_key(
    world: CognitoWorld, replica: Instance, alice: dict[str, str], signatures: SigningRecorder
) -> None:
    expected = await alices_key_id(replica, alice)
    signatures.clear()
    rpc_key = alice["Authorization"]
    body = base64.b64encode(b"via rpc").decode()
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "listBuckets", "params": {"userId": "alice"}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "putObject",
            "params": {"userId": "alice", "bucket": "alice-data", "key": "r.txt", "body": body},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "invokeLambda",
            "params": {"userId": "alice", "name": "echo", "payload": [1]},
        },
    ]
    answer = await replica.client.post("/rpc", headers={"Authorization": rpc_key}, json=batch)
    assert answer.status_code == 200, answer.text
    assert all(reply["result"]["success"] for reply in answer.json()), answer.text
    assert signatures.signers("s3") == {expected}
    assert signatures.signers("lambda") == {expected}
