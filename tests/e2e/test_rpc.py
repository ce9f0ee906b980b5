"""POST /rpc: JSON-RPC 2.0 conformance, batches, every method end to end (stand-in + moto), and
a third-party client library (jsonrpcclient) talking to it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonrpcclient
import pytest
from support.aws_world import connect_alice
from support.envelopes import assert_envelope
from support.oauth_world import RETURN_URL, CognitoWorld, Instance

from connector.errors import ErrorCode

EVERY_SCOPE = (
    "connect",
    "connection:read",
    "token:read",
    "credentials:read",
    "s3:read",
    "s3:write",
    "lambda:read",
    "lambda:invoke",
)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def rpc(replica: Instance, key: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return await replica.client.post("/rpc", headers=bearer(key), content=body)
    return await replica.client.post("/rpc", headers=bearer(key), json=body)


def call(method: str, request_id: Any = 1, /, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}


async def result_of(
    replica: Instance, api_key: str, method: str, /, **params: Any
) -> dict[str, Any]:
    """The `result` envelope of one call."""
    answer = await rpc(replica, api_key, call(method, **params))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"jsonrpc", "id", "result"}, body
    result: dict[str, Any] = body["result"]
    return result


@pytest.fixture
async def key(world: CognitoWorld, replica: Instance) -> str:
    return await world.key(replica, *EVERY_SCOPE)


# --- transport-level faults ----------------------------------------------------------------


async def test_a_body_that_is_not_json_is_a_parse_error(replica: Instance, key: str) -> None:
    answer = await rpc(replica, key, b'{"jsonrpc": "2.0", "method": "listBuckets", "params": ')
    assert answer.status_code == 200
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: the body is not JSON"},
    }


@pytest.mark.parametrize(
    ("body", "expected_id"),
    [
        (1, None),
        ("listBuckets", None),
        ({"method": "listBuckets", "id": 3}, 3),
        ({"jsonrpc": "1.0", "method": "listBuckets", "id": 4}, 4),
        ({"jsonrpc": "2.0", "method": 7, "id": "x"}, "x"),
        ({"jsonrpc": "2.0", "method": "listBuckets", "params": "alice", "id": 5}, 5),
        ({"jsonrpc": "2.0", "method": "listBuckets", "id": True}, None),
        ({"jsonrpc": "2.0", "method": "listBuckets", "id": {"a": 1}}, None),
        ({"jsonrpc": "2.0", "method": "listBuckets", "extra": 1, "id": 6}, 6),
        ([], None),
    ],
)
async def test_malformed_requests_are_invalid_requests(
    replica: Instance, key: str, body: Any, expected_id: Any
) -> None:
    answer = await rpc(replica, key, body)
    assert answer.status_code == 200
    reply = answer.json()
    assert reply["error"]["code"] == -32600
    assert reply["id"] == expected_id
    assert "result" not in reply


async def test_an_unknown_method_is_method_not_found(replica: Instance, key: str) -> None:
    reply = (await rpc(replica, key, call("dropTables", "q1", userId="alice"))).json()
    assert (reply["id"], reply["error"]["code"]) == ("q1", -32601)


@pytest.mark.parametrize(
    "params",
    [
        {},  # userId missing
        {"userId": ""},
        {"userId": "not ok/with slash"},
        {"userId": "alice", "bucket": "alice-data", "maxKeys": "ten"},
        {"userId": "alice", "bucket": "alice-data", "surprise": True},
        ["alice", "alice-data"],  # by position
    ],
)
async def test_bad_params_are_invalid_params(
    replica: Instance, key: str, params: dict[str, Any]
) -> None:
    body = {"jsonrpc": "2.0", "method": "listObjects", "params": params, "id": 9}
    reply = (await rpc(replica, key, body)).json()
    assert (reply["id"], reply["error"]["code"]) == (9, -32602)
    assert reply["error"]["message"].startswith("Invalid params")


async def test_the_key_is_checked_before_anything_is_parsed(replica: Instance) -> None:
    for headers in ({}, bearer("ck_nope_nope")):
        answer = await replica.client.post("/rpc", headers=headers, content=b"not even json")
        assert_envelope(answer, ErrorCode.UNAUTHORIZED)


async def test_x_user_id_is_ignored_and_a_missing_scope_is_a_forbidden_result(
    world: CognitoWorld, replica: Instance
) -> None:
    narrow = await world.key(replica, "connection:read")
    answer = await replica.client.post(
        "/rpc",
        headers={**bearer(narrow), "X-User-Id": "not valid at all!"},
        json=call("listBuckets", userId="alice"),
    )
    result = answer.json()["result"]
    assert (result["success"], result["code"]) == (False, "FORBIDDEN")
    assert result["details"] == {"requiredScope": "s3:read"}
    # A scope that is held: the envelope of the REST twin (no connection yet).
    missing = await result_of(replica, narrow, "getConnection", userId="alice")
    assert missing["code"] == "NOT_CONNECTED"


# --- batches -------------------------------------------------------------------------------


async def test_a_batch_mixes_successes_failures_faults_and_notifications(
    world: CognitoWorld, replica: Instance, key: str
) -> None:
    await connect_alice(world, replica)
    batch = [
        call("listBuckets", 1, userId="alice"),
        call("getObject", 2, userId="alice", bucket="alice-data", key="absent"),
        call("noSuchMethod", 3, userId="alice"),
        {"jsonrpc": "2.0", "method": "putObject", "params": {"userId": "alice"}},  # notification
        call("listObjects", 4, userId="alice", bucket="Bad_Bucket"),
        {"jsonrpc": "2.0", "method": "noSuchMethodEither"},  # notification: no answer at all
        call("getConnection", 5, userId="bob"),
        {"bad": "item"},
        call("listBuckets", 6, userId="bad user"),
    ]
    answer = await rpc(replica, key, batch)
    assert answer.status_code == 200
    replies = {r["id"]: r for r in answer.json() if r["id"] is not None}
    invalid = [r for r in answer.json() if r["id"] is None]
    assert sorted(replies) == [1, 2, 3, 4, 5, 6]
    assert len(invalid) == 1
    assert invalid[0]["error"]["code"] == -32600
    assert replies[1]["result"]["success"] is True
    assert len(replies[1]["result"]["data"]["buckets"]) == 3
    assert replies[2]["result"]["code"] == "NOT_FOUND"
    assert replies[3]["error"]["code"] == -32601
    assert replies[4]["result"]["code"] == "VALIDATION_ERROR"
    assert replies[5]["result"]["code"] == "NOT_CONNECTED"
    assert replies[6]["error"]["code"] == -32602


async def test_a_batch_of_notifications_answers_nothing(replica: Instance, key: str) -> None:
    notifications = [{"jsonrpc": "2.0", "method": "getConnection", "params": {"userId": "alice"}}]
    answer = await rpc(replica, key, notifications * 3)
    assert (answer.status_code, answer.content) == (204, b"")


async def test_a_batch_over_the_limit_is_refused_whole(replica: Instance, key: str) -> None:
    limit = replica.container.settings.rpc.max_batch
    answer = await rpc(
        replica, key, [call("listBuckets", n, userId="alice") for n in range(limit + 1)]
    )
    reply = answer.json()
    assert reply["id"] is None
    assert reply["error"]["code"] == -32600
    assert reply["error"]["data"] == {"maxBatch": limit, "received": limit + 1}
    within = await rpc(replica, key, [call("getConnection", n, userId="x") for n in range(limit)])
    assert len(within.json()) == limit


# --- every method, end to end ----------------------------------------------------------------


async def test_every_method_end_to_end(world: CognitoWorld, replica: Instance, key: str) -> None:
    started = await result_of(replica, key, "connect", userId="alice", redirectUri=RETURN_URL)
    assert set(started["data"]) == {"authUrl", "state", "expiresAt"}
    back = parse_qs(urlsplit(await world.login(started["data"]["authUrl"])).query)
    connected = await result_of(
        replica, key, "callback", code=back["code"][0], state=back["state"][0], userId="alice"
    )
    assert (connected["data"]["userId"], connected["data"]["status"]) == ("alice", "active")
    view = await result_of(replica, key, "getConnection", userId="alice")
    assert view["data"]["sub"] == connected["data"]["sub"]
    token = await result_of(replica, key, "getToken", userId="alice")
    assert token["data"]["tokenType"] == "Bearer"
    credentials = await result_of(replica, key, "getCredentials", userId="alice")
    assert credentials["data"]["identityId"]

    buckets = await result_of(replica, key, "listBuckets", userId="alice")
    assert "alice-data" in [b["name"] for b in buckets["data"]["buckets"]]
    body = bytes(range(256)) * 40
    stored = await result_of(
        replica,
        key,
        "putObject",
        userId="alice",
        bucket="alice-data",
        key="rpc/blob.bin",
        body=base64.b64encode(body).decode(),
        contentType="application/x-test",
    )
    assert stored["data"]["key"] == "rpc/blob.bin"
    listed = await result_of(
        replica, key, "listObjects", userId="alice", bucket="alice-data", prefix="rpc/", maxKeys=5
    )
    assert [o["key"] for o in listed["data"]["objects"]] == ["rpc/blob.bin"]
    fetched = await result_of(
        replica, key, "getObject", userId="alice", bucket="alice-data", key="rpc/blob.bin"
    )
    assert fetched["data"]["contentType"] == "application/x-test"
    assert fetched["data"]["etag"] == stored["data"]["etag"]
    assert base64.b64decode(fetched["data"]["body"]) == body
    signed = await result_of(
        replica,
        key,
        "presign",
        userId="alice",
        bucket="alice-data",
        key="rpc/blob.bin",
        method="GET",
    )
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(signed["data"]["url"])).content == body
    deleted = await result_of(
        replica, key, "deleteObject", userId="alice", bucket="alice-data", key="rpc/blob.bin"
    )
    assert deleted["data"] == {"deleted": True}

    functions = await result_of(replica, key, "listFunctions", userId="alice", maxItems=10)
    assert sorted(f["name"] for f in functions["data"]["functions"]) == ["echo", "reports-daily"]
    function = await result_of(replica, key, "getFunction", userId="alice", name="echo")
    assert function["data"]["codeSize"] > 0
    invoked = await result_of(
        replica, key, "invokeLambda", userId="alice", name="echo", payload={"via": "rpc"}
    )
    assert (invoked["data"]["statusCode"], invoked["data"]["payload"]) == (200, {"via": "rpc"})

    gone = await result_of(replica, key, "disconnect", userId="alice")
    assert gone["data"]["disconnected"] is True
    after = await result_of(replica, key, "getConnection", userId="alice")
    assert after["code"] == "NOT_CONNECTED"


async def test_get_object_refuses_objects_over_the_limit_and_points_to_presign(
    world: CognitoWorld, replica: Instance, key: str, aws: dict[str, Any]
) -> None:
    await connect_alice(world, replica)
    limit = replica.container.settings.rpc.max_object_bytes
    aws["s3"].put_object(Bucket="alice-data", Key="large", Body=b"x" * (limit + 1))
    aws["s3"].put_object(Bucket="alice-data", Key="exact", Body=b"x" * limit)
    refused = await result_of(
        replica, key, "getObject", userId="alice", bucket="alice-data", key="large"
    )
    assert refused["code"] == "VALIDATION_ERROR"
    assert refused["details"]["use"] == "presign"
    exact = await result_of(
        replica, key, "getObject", userId="alice", bucket="alice-data", key="exact"
    )
    assert len(base64.b64decode(exact["data"]["body"])) == limit


async def test_put_object_needs_base64(world: CognitoWorld, replica: Instance, key: str) -> None:
    reply = (
        await rpc(
            replica,
            key,
            call("putObject", userId="alice", bucket="alice-data", key="k", body="***"),
        )
    ).json()
    assert reply["error"]["code"] == -32602
    assert reply["error"]["data"] == {"field": "body"}


# --- a third-party client ---------------------------------------------------------------------


async def test_jsonrpcclient_from_pypi_talks_to_rpc(
    world: CognitoWorld, replica: Instance, key: str
) -> None:
    await connect_alice(world, replica)
    single = await replica.client.post(
        "/rpc",
        headers=bearer(key),
        json=jsonrpcclient.request("listBuckets", params={"userId": "alice"}),
    )
    parsed = jsonrpcclient.parse(single.json())
    assert isinstance(parsed, jsonrpcclient.Ok)
    assert parsed.result["success"] is True
    batch = [
        jsonrpcclient.request("getConnection", params={"userId": "alice"}),
        jsonrpcclient.request("unknownMethod", params={"userId": "alice"}),
        jsonrpcclient.notification("getConnection", params={"userId": "alice"}),
    ]
    replies = list(
        jsonrpcclient.parse(
            (await replica.client.post("/rpc", headers=bearer(key), json=batch)).json()
        )
    )
    assert len(replies) == 2
    ok, error = sorted(replies, key=lambda r: isinstance(r, jsonrpcclient.Error))
    assert isinstance(ok, jsonrpcclient.Ok)
    assert ok.result["data"]["userId"] == "alice"
    assert isinstance(error, jsonrpcclient.Error)
    assert error.code == -32601
