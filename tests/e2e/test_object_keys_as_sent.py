"""Object routes address the key exactly as sent: a trailing slash or a doubled slash is part of
an S3 key, and must not land on another object (the router normalises its own path)."""

from __future__ import annotations

from typing import Any

import pytest
from support.aws_world import connect_alice, headers
from support.oauth_world import CognitoWorld, Instance

OBJECTS = "/s3/buckets/alice-data/objects"


@pytest.fixture
async def alice(world: CognitoWorld, replica: Instance) -> dict[str, str]:
    await connect_alice(world, replica)
    return headers(await world.key(replica, "s3:read", "s3:write"))


def stored(aws: dict[str, Any]) -> dict[str, bytes]:
    listed = aws["s3"].list_objects_v2(Bucket="alice-data").get("Contents", [])
    return {
        item["Key"]: aws["s3"].get_object(Bucket="alice-data", Key=item["Key"])["Body"].read()
        for item in listed
    }


async def test_a_trailing_slash_names_another_object_than_without_it(
    replica: Instance, aws: dict[str, Any], alice: dict[str, str]
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key="folder", Body=b"the file")
    assert (
        await replica.client.put(f"{OBJECTS}/folder/", headers=alice, content=b"marker")
    ).json()["data"]["key"] == "folder/"
    assert stored(aws) == {"folder": b"the file", "folder/": b"marker"}
    assert (await replica.client.get(f"{OBJECTS}/folder/", headers=alice)).content == b"marker"
    assert (await replica.client.get(f"{OBJECTS}/folder", headers=alice)).content == b"the file"
    assert (await replica.client.delete(f"{OBJECTS}/folder/", headers=alice)).status_code == 200
    assert stored(aws) == {"folder": b"the file"}


async def test_doubled_and_encoded_slashes_are_kept(
    replica: Instance, aws: dict[str, Any], alice: dict[str, str]
) -> None:
    for path, key in [("a//b", "a//b"), ("c%2F%2Fd", "c//d"), ("%C3%A9t%C3%A9%20x", "été x")]:
        put = await replica.client.put(f"{OBJECTS}/{path}", headers=alice, content=key.encode())
        assert put.json()["data"]["key"] == key, put.text
        got = await replica.client.get(f"{OBJECTS}/{path}", headers=alice)
        assert got.content == key.encode()
    assert stored(aws) == {"a//b": b"a//b", "c//d": b"c//d", "été x": "été x".encode()}
