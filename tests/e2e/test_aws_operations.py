"""S3 and Lambda end to end: the Hosted UI stand-in -> connector (HTTP) -> moto, as alice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support.aws_world import connect_alice, headers
from support.envelopes import assert_envelope
from support.oauth_world import CognitoWorld, Instance

from connector.errors import ErrorCode

MB = 1 << 20
ALL = ("s3:read", "s3:write", "lambda:read", "lambda:invoke")


def pattern_bytes(size: int) -> bytes:
    """`size` bytes that differ from part to part (a misplaced part would show)."""
    block = hashlib.sha256(str(size).encode()).digest() * (MB // 32)
    return b"".join(bytes([n % 251]) + block[1:] for n in range(size // MB + 1))[:size]


@pytest.fixture
async def alice(world: CognitoWorld, replica: Instance) -> dict[str, str]:
    """alice is connected; headers of a key that may do every AWS operation for her."""
    await connect_alice(world, replica)
    return headers(await world.key(replica, *ALL))


async def test_objects_round_trip_through_the_connector(
    replica: Instance, alice: dict[str, str], aws: dict[str, Any]
) -> None:
    http = replica.client
    listed = await http.get("/s3/buckets", headers=alice)
    assert listed.status_code == 200, listed.text
    buckets = listed.json()["data"]["buckets"]
    assert sorted(b["name"] for b in buckets) == ["alice-archive", "alice-data", "team-shared"]
    assert all(b["creationDate"].endswith("Z") for b in buckets)

    small = await http.put(
        "/s3/buckets/alice-data/objects/notes/hello world.txt",
        headers={**alice, "Content-Type": "text/plain; charset=utf-8"},
        content=b"hello, alice",
    )
    assert small.status_code == 200, small.text
    stored = small.json()["data"]
    assert (stored["bucket"], stored["key"]) == ("alice-data", "notes/hello world.txt")
    assert set(stored) == {"bucket", "key", "etag", "versionId"}

    got = await http.get("/s3/buckets/alice-data/objects/notes/hello world.txt", headers=alice)
    assert got.status_code == 200
    assert got.content == b"hello, alice"
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["etag"] == stored["etag"]
    assert got.headers["content-length"] == "12"
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["cache-control"] == "private, no-store"
    assert got.headers["last-modified"].endswith("GMT")

    # A multi-MB body goes up as a multipart upload and comes back byte for byte.
    big = pattern_bytes(19 * MB + 12345)
    put_big = await http.put("/s3/buckets/alice-data/objects/big.bin", headers=alice, content=big)
    assert put_big.status_code == 200, put_big.text
    assert re.fullmatch(r'"[0-9a-f]{32}-2"', put_big.json()["data"]["etag"])  # multipart
    whole = await http.get("/s3/buckets/alice-data/objects/big.bin", headers=alice)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "binary/octet-stream"  # S3's default, passed on
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(big).digest()

    ranged = await http.get(
        "/s3/buckets/alice-data/objects/big.bin",
        headers={**alice, "Range": f"bytes={9 * MB}-{9 * MB + 99}"},
    )
    assert ranged.status_code == 206
    assert ranged.content == big[9 * MB : 9 * MB + 100]
    assert ranged.headers["content-range"] == f"bytes {9 * MB}-{9 * MB + 99}/{len(big)}"
    assert ranged.headers["content-length"] == "100"
    suffix = await http.get(
        "/s3/buckets/alice-data/objects/big.bin", headers={**alice, "Range": "bytes=-10"}
    )
    assert (suffix.status_code, suffix.content) == (206, big[-10:])

    # What moto holds is what was sent.
    assert aws["s3"].get_object(Bucket="alice-data", Key="big.bin")["Body"].read() == big

    gone = await http.delete("/s3/buckets/alice-data/objects/big.bin", headers=alice)
    assert (gone.status_code, gone.json()["data"]) == (200, {"deleted": True})
    again = await http.delete("/s3/buckets/alice-data/objects/big.bin", headers=alice)
    assert (again.status_code, again.json()["data"]) == (200, {"deleted": True})
    missing = await http.get("/s3/buckets/alice-data/objects/big.bin", headers=alice)
    assert_envelope(missing, ErrorCode.NOT_FOUND)
    assert missing.json()["details"]["upstreamCode"] == "NoSuchKey"


async def test_listing_pages_through_objects_and_common_prefixes(
    replica: Instance, alice: dict[str, str], aws: dict[str, Any]
) -> None:
    for n in range(5):
        aws["s3"].put_object(Bucket="alice-data", Key=f"logs/{n}.txt", Body=b"x" * n)
    aws["s3"].put_object(Bucket="alice-data", Key="top.txt", Body=b"top")
    seen: list[str] = []
    token: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"prefix": "logs/", "maxKeys": 2}
        if token:
            params["continuationToken"] = token
        page = await replica.client.get(
            "/s3/buckets/alice-data/objects", headers=alice, params=params
        )
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        assert set(data) == {"objects", "commonPrefixes", "isTruncated", "nextContinuationToken"}
        seen += [o["key"] for o in data["objects"]]
        token = data["nextContinuationToken"]
        assert data["isTruncated"] is (token is not None)
    assert seen == [f"logs/{n}.txt" for n in range(5)]
    assert token is None
    first = (
        await replica.client.get(
            "/s3/buckets/alice-data/objects", headers=alice, params={"prefix": "logs/"}
        )
    ).json()["data"]["objects"][1]
    assert set(first) == {"key", "size", "lastModified", "etag", "storageClass"}
    assert (first["key"], first["size"]) == ("logs/1.txt", 1)
    assert first["lastModified"].endswith("Z")

    folders = await replica.client.get(
        "/s3/buckets/alice-data/objects", headers=alice, params={"delimiter": "/"}
    )
    data = folders.json()["data"]
    assert data["commonPrefixes"] == ["logs/"]
    assert [o["key"] for o in data["objects"]] == ["top.txt"]


async def test_presigned_urls_work_with_plain_http(
    replica: Instance, alice: dict[str, str], world: CognitoWorld
) -> None:
    signed_put = await replica.client.post(
        "/s3/presign",
        headers=alice,
        json={"bucket": "alice-data", "key": "direct.bin", "method": "PUT", "expiresIn": 60},
    )
    assert signed_put.status_code == 200, signed_put.text
    put = signed_put.json()["data"]
    assert put["method"] == "PUT"
    async with httpx.AsyncClient() as plain:
        assert (await plain.put(put["url"], content=b"straight to S3")).status_code == 200
        signed_get = await replica.client.post(
            "/s3/presign",
            headers=alice,
            json={"bucket": "alice-data", "key": "direct.bin"} | {"method": "GET"},
        )
        get = signed_get.json()["data"]
        fetched = await plain.get(get["url"])
    assert (fetched.status_code, fetched.content) == (200, b"straight to S3")
    assert "X-Amz-Expires=900" in get["url"]  # the default
    credentials_key = await world.key(replica, "credentials:read")
    credentials = await replica.client.get("/credentials", headers=headers(credentials_key))
    # Signed with temporary credentials, a URL lives no longer than they do (moto: 90 s).
    assert get["expiresAt"] == credentials.json()["data"]["expiration"]


async def test_a_presign_is_audited_with_its_bucket_and_key_and_its_url_is_logged_nowhere(
    world: CognitoWorld,
    replica: Instance,
    alice: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="connector")
    rest = await replica.client.post(
        "/s3/presign",
        headers=alice,
        json={"bucket": "alice-data", "key": "reports/q1.csv", "method": "GET"},
    )
    assert rest.status_code == 200, rest.text
    call = {"userId": "alice", "bucket": "alice-archive", "key": "old/q4.csv", "method": "PUT"}
    rpc = await replica.client.post(
        "/rpc",
        headers={"Authorization": alice["Authorization"]},
        json={"jsonrpc": "2.0", "id": 1, "method": "presign", "params": call},
    )
    assert rpc.json()["result"]["success"] is True, rpc.text
    elsewhere = headers(await world.key(replica, "s3:read", buckets=["alice-*"]))
    refused = await replica.client.post(
        "/s3/presign",
        headers=elsewhere,
        json={"bucket": "team-shared", "key": "k", "method": "GET"},
    )
    assert_envelope(refused, ErrorCode.FORBIDDEN)

    audited = [
        (r.__dict__["operation"], r.__dict__["resource"], r.__dict__["outcome"])
        for r in caplog.records
        if r.name == "connector.audit"
    ]
    assert audited == [
        ("presign", "alice-data/reports/q1.csv", "OK"),
        ("presign", "alice-archive/old/q4.csv", "OK"),
        ("presign", "team-shared/k", "FORBIDDEN"),
    ]
    urls = [rest.json()["data"]["url"], rpc.json()["result"]["data"]["url"]]
    signatures = [parse_qs(urlsplit(url).query)["X-Amz-Signature"][0] for url in urls]
    logged = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records]
    assert len(logged) >= 6  # a request line and an audit event per call, at least
    for secret in [*urls, *signatures, *(urlsplit(url).query for url in urls)]:
        assert not any(secret in line for line in logged), secret[:24]


@pytest.mark.parametrize("expires_in", [0, 3601, -5])
async def test_presign_expiry_is_bounded(
    replica: Instance, alice: dict[str, str], expires_in: int
) -> None:
    refused = await replica.client.post(
        "/s3/presign",
        headers=alice,
        json={"bucket": "alice-data", "key": "k", "method": "GET", "expiresIn": expires_in},
    )
    assert_envelope(refused, ErrorCode.VALIDATION_ERROR)
    assert refused.json()["details"]["field"] == "expiresIn"


async def test_lambda_functions_are_listed_described_and_invoked(
    replica: Instance, alice: dict[str, str]
) -> None:
    http = replica.client
    # moto ignores MaxItems/Marker (the gateway's tests page with botocore's Stubber).
    first = await http.get("/lambda/functions", headers=alice, params={"maxItems": 10})
    assert first.status_code == 200, first.text
    page = first.json()["data"]
    assert sorted(f["name"] for f in page["functions"]) == ["echo", "reports-daily"]
    assert page["nextMarker"] is None
    summary = next(f for f in page["functions"] if f["name"] == "echo")
    assert set(summary) == {
        "name",
        "arn",
        "runtime",
        "handler",
        "description",
        "memorySize",
        "timeout",
        "lastModified",
    }
    assert summary["lastModified"].endswith("Z")

    detail = await http.get("/lambda/functions/echo", headers=alice)
    assert detail.status_code == 200, detail.text
    described = detail.json()["data"]
    assert set(described) == {*summary, "role", "state", "codeSize"}
    assert (described["description"], described["runtime"]) == ("the echo function", "python3.12")

    invoked = await http.post(
        "/lambda/functions/echo/invoke",
        headers=alice,
        json={"payload": {"order": 42, "items": ["a", "b"]}, "logType": "Tail"},
    )
    assert invoked.status_code == 200, invoked.text
    result = invoked.json()["data"]
    assert set(result) == {
        "statusCode",
        "payload",
        "functionError",
        "logResult",
        "executedVersion",
    }
    assert result["statusCode"] == 200
    assert result["payload"] == {"order": 42, "items": ["a", "b"]}  # moto echoes the event
    assert result["functionError"] is None

    queued = await http.post(
        "/lambda/functions/echo/invoke",
        headers=alice,
        json={"payload": {"n": 1}, "invocationType": "Event"},
    )
    assert (queued.json()["data"]["statusCode"], queued.json()["data"]["payload"]) == (202, None)
    # (moto's Docker-less Lambda invokes any name; tests/adapters/test_lambda_gateway.py shows
    # a missing function is NOT_FOUND on invoke as well.)
    assert_envelope(await http.get("/lambda/functions/absent", headers=alice), ErrorCode.NOT_FOUND)


async def test_a_missing_bucket_is_not_found(replica: Instance, alice: dict[str, str]) -> None:
    for answer in (
        await replica.client.get("/s3/buckets/no-such-bucket/objects", headers=alice),
        await replica.client.get("/s3/buckets/no-such-bucket/objects/k", headers=alice),
        await replica.client.put(
            "/s3/buckets/no-such-bucket/objects/k", headers=alice, content=b"x"
        ),
    ):
        assert_envelope(answer, ErrorCode.NOT_FOUND)
        assert answer.json()["details"]["upstreamCode"] == "NoSuchBucket"


# --- the key's policy, checked before anything else happens -------------------------------


async def test_buckets_outside_the_key_policy_are_hidden_and_refused(
    world: CognitoWorld, replica: Instance
) -> None:
    await connect_alice(world, replica)
    key = await world.key(replica, "s3:read", "s3:write", buckets=["alice-*"])
    listed = await replica.client.get("/s3/buckets", headers=headers(key))
    assert sorted(b["name"] for b in listed.json()["data"]["buckets"]) == [
        "alice-archive",
        "alice-data",
    ]
    for answer in (
        await replica.client.get("/s3/buckets/team-shared/objects", headers=headers(key)),
        await replica.client.get("/s3/buckets/team-shared/objects/k", headers=headers(key)),
        await replica.client.put(
            "/s3/buckets/team-shared/objects/k", headers=headers(key), content=b"x"
        ),
        await replica.client.delete("/s3/buckets/team-shared/objects/k", headers=headers(key)),
        await replica.client.post(
            "/s3/presign",
            headers=headers(key),
            json={"bucket": "team-shared", "key": "k", "method": "GET"},
        ),
        # Existence is not revealed: a bucket that does not exist is refused the same way.
        await replica.client.get("/s3/buckets/nowhere-bucket/objects", headers=headers(key)),
        # Patterns are case-sensitive.
        await replica.client.get("/s3/buckets/Alice-data/objects", headers=headers(key)),
    ):
        assert answer.status_code in (403, 400), answer.text
    refused = await replica.client.get("/s3/buckets/team-shared/objects", headers=headers(key))
    assert_envelope(refused, ErrorCode.FORBIDDEN)


async def test_policy_refusals_come_before_any_aws_call(
    world: CognitoWorld, replica: Instance
) -> None:
    """For a user who never connected, a refusal by policy is FORBIDDEN, not NOT_CONNECTED:
    nothing was looked up, no credential minted, AWS never asked."""
    read_only = await world.key(replica, *ALL, read_only=True)
    elsewhere = await world.key(replica, *ALL, buckets=["alice-*"], functions=["reports-*"])
    no_invoke = await world.key(replica, "lambda:read")
    stranger = "never-connected"
    calls = [
        replica.client.put(
            "/s3/buckets/alice-data/objects/k", headers=headers(read_only, stranger), content=b"x"
        ),
        replica.client.delete(
            "/s3/buckets/alice-data/objects/k", headers=headers(read_only, stranger)
        ),
        replica.client.post(
            "/s3/presign",
            headers=headers(read_only, stranger),
            json={"bucket": "alice-data", "key": "k", "method": "PUT"},
        ),
        replica.client.post(
            "/lambda/functions/echo/invoke", headers=headers(read_only, stranger), json={}
        ),
        replica.client.get("/s3/buckets/team-shared/objects", headers=headers(elsewhere, stranger)),
        replica.client.get("/lambda/functions/echo", headers=headers(elsewhere, stranger)),
        replica.client.post(
            "/lambda/functions/arn:aws:lambda:us-east-1:123456789012:function:echo:prod/invoke",
            headers=headers(elsewhere, stranger),
            json={},
        ),
        replica.client.post(
            "/lambda/functions/echo/invoke", headers=headers(no_invoke, stranger), json={}
        ),
    ]
    for answer in await asyncio.gather(*calls):
        assert_envelope(answer, ErrorCode.FORBIDDEN)
    # Within the policy, the same stranger gets as far as the missing connection.
    allowed = await replica.client.get(
        "/lambda/functions/reports-daily:prod", headers=headers(elsewhere, stranger)
    )
    assert_envelope(allowed, ErrorCode.NOT_CONNECTED)


async def test_functions_outside_the_key_policy_are_not_listed(
    world: CognitoWorld, replica: Instance
) -> None:
    await connect_alice(world, replica)
    key = await world.key(replica, "lambda:read", functions=["reports-*"])
    listed = await replica.client.get("/lambda/functions", headers=headers(key))
    assert [f["name"] for f in listed.json()["data"]["functions"]] == ["reports-daily"]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/s3/buckets/Bad_Bucket/objects", "bucket"),
        ("GET", "/s3/buckets/ab/objects/k", "bucket"),
        ("GET", "/s3/buckets/192.168.0.1/objects", "bucket"),
        ("GET", f"/s3/buckets/alice-data/objects/{'k' * 1025}", "key"),
        ("GET", "/s3/buckets/alice-data/objects?maxKeys=0", "maxKeys"),
        ("GET", "/s3/buckets/alice-data/objects?maxKeys=1001", "maxKeys"),
        ("GET", "/lambda/functions/bad name!", "name"),
        ("GET", f"/lambda/functions/{'f' * 65}", "name"),
        ("GET", "/lambda/functions?maxItems=0", "maxItems"),
    ],
)
async def test_bad_names_are_refused_before_any_call(
    world: CognitoWorld, replica: Instance, method: str, path: str, field: str
) -> None:
    key = await world.key(replica, *ALL)
    answer = await replica.client.request(method, path, headers=headers(key, "never-connected"))
    assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert answer.json()["details"]["field"] == field


async def test_a_range_that_is_not_one_byte_range_is_ignored_and_the_whole_object_sent(
    replica: Instance, alice: dict[str, str], aws: dict[str, Any]
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key="ten", Body=b"0123456789")
    for header in ("bytes=5-2", "lines=1-2", "bytes=0-1,3-4"):
        answer = await replica.client.get(
            "/s3/buckets/alice-data/objects/ten", headers={**alice, "Range": header}
        )
        assert (answer.status_code, answer.content) == (200, b"0123456789"), header
        assert "content-range" not in answer.headers


async def test_an_unsatisfiable_range_is_a_validation_error(
    replica: Instance, alice: dict[str, str], aws: dict[str, Any]
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key="ten", Body=b"0123456789")
    answer = await replica.client.get(
        "/s3/buckets/alice-data/objects/ten", headers={**alice, "Range": "bytes=50-60"}
    )
    assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert answer.json()["details"]["field"] == "range"


async def test_head_answers_the_objects_headers_without_its_bytes(
    replica: Instance, alice: dict[str, str], aws: dict[str, Any]
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key="ten", Body=b"0123456789", ContentType="text/csv")
    url = "/s3/buckets/alice-data/objects/ten"
    got = await replica.client.get(url, headers=alice)
    head = await replica.client.head(url, headers=alice)
    assert (head.status_code, head.content) == (200, b"")
    for name in ("content-length", "content-type", "etag", "last-modified", "content-disposition"):
        assert head.headers[name] == got.headers[name], name
    ranged = await replica.client.head(url, headers={**alice, "Range": "bytes=2-4"})
    assert (ranged.status_code, ranged.headers["content-range"]) == (206, "bytes 2-4/10")
    missing = await replica.client.head("/s3/buckets/alice-data/objects/absent", headers=alice)
    assert (missing.status_code, missing.content) == (404, b"")
