"""Listings across pages, the user-bound S3 helpers, and objects streamed in and out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from connector_client import (
    AccessDeniedError,
    AsyncConnectorClient,
    ConnectorUnreachableError,
    ErrorCode,
)
from support.client_harness import NO_JITTER, FakeConnector, Flavour, MakeFlavour, ok, refusal

STORED = {"bucket": "b", "key": "k", "etag": '"e"', "versionId": None}


def objects_page(keys: list[str], token: str | None) -> dict[str, Any]:
    objects = [
        {
            "key": key,
            "size": 1,
            "lastModified": "2026-11-21T17:00:00Z",
            "etag": '"e"',
            "storageClass": "STANDARD",
        }
        for key in keys
    ]
    return {
        "objects": objects,
        "commonPrefixes": [],
        "isTruncated": token is not None,
        "nextContinuationToken": token,
    }


def function(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "arn": f"arn:aws:lambda:us-east-1:1:function:{name}",
        "runtime": "python3.12",
        "handler": "index.handler",
        "description": None,
        "memorySize": 128,
        "timeout": 3,
        "lastModified": None,
    }


def test_iter_objects_follows_continuation_tokens_to_the_last_page(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(
        ok(objects_page(["a", "b"], "t1")),
        ok(objects_page(["c", "d"], "t2")),
        ok(objects_page(["e"], None)),
    )
    listed = flavour.collect(
        lambda client: client.iter_objects("alice", "bkt", prefix="p/", page_size=2)
    )
    assert [item.key for item in listed] == ["a", "b", "c", "d", "e"]
    sent = [dict(request.url.params) for request in flavour.fake.requests]
    assert sent == [
        {"prefix": "p/", "maxKeys": "2"},
        {"prefix": "p/", "maxKeys": "2", "continuationToken": "t1"},
        {"prefix": "p/", "maxKeys": "2", "continuationToken": "t2"},
    ]


def test_the_s3_helper_lists_every_page_for_its_user(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(ok(objects_page(["a"], "t")), ok(objects_page(["b"], None)))
    listed = flavour.collect(lambda client: client.s3("bob").list_objects("bkt"))
    assert [item.key for item in listed] == ["a", "b"]
    assert {request.headers["x-user-id"] for request in flavour.fake.requests} == {"bob"}


def test_iter_functions_follows_markers(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(
        ok({"functions": [function("one")], "nextMarker": "m"}),
        ok({"functions": [function("two")], "nextMarker": None}),
    )
    listed = flavour.collect(lambda client: client.iter_functions("alice", page_size=1))
    assert [f.name for f in listed] == ["one", "two"]
    assert dict(flavour.fake.last.url.params) == {"marker": "m", "maxItems": "1"}


def test_json_goes_up_as_json_and_comes_back_parsed(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(ok(STORED), httpx.Response(200, content=b'{"n": [1, 2]}'))
    flavour.run(lambda client: client.s3("alice").write_json("b", "k.json", {"n": [1, 2]}))
    put = flavour.fake.requests[0]
    assert (put.method, put.headers["content-type"]) == ("PUT", "application/json")
    assert flavour.fake.bodies[0] == b'{"n":[1,2]}'
    assert flavour.run(lambda client: client.s3("alice").read_json("b", "k.json")) == {"n": [1, 2]}


def test_text_goes_up_with_its_charset_and_comes_back_decoded(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(ok(STORED), httpx.Response(200, content="é".encode("latin-1")))
    s3 = flavour.client.s3("alice")
    flavour.run(lambda _: s3.write_text("b", "k.txt", "é", encoding="latin-1"))
    assert flavour.fake.requests[0].headers["content-type"] == "text/plain; charset=latin-1"
    assert flavour.fake.bodies[0] == b"\xe9"
    assert flavour.run(lambda _: s3.read_text("b", "k.txt", encoding="latin-1")) == "é"


@pytest.mark.parametrize(("listed", "exists"), [(["k"], True), (["k/child"], False), ([], False)])
def test_file_exists_is_one_listing_of_the_key_as_prefix(
    make_flavour: MakeFlavour, listed: list[str], exists: bool
) -> None:
    flavour = make_flavour(ok(objects_page(listed, None)))
    assert flavour.run(lambda client: client.s3("alice").file_exists("b", "k")) is exists
    assert dict(flavour.fake.last.url.params) == {"prefix": "k", "maxKeys": "1"}


def test_file_exists_is_false_in_a_missing_bucket_but_raises_on_other_failures(
    make_flavour: MakeFlavour,
) -> None:
    flavour = make_flavour(refusal(ErrorCode.NOT_FOUND), refusal(ErrorCode.ACCESS_DENIED))
    s3 = flavour.client.s3("alice")
    assert flavour.run(lambda _: s3.file_exists("gone", "k")) is False
    with pytest.raises(AccessDeniedError):
        flavour.run(lambda _: s3.file_exists("private", "k"))


class _BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that stops with a network error after its first chunk."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"first chunk"
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first chunk"
        raise httpx.ReadError("connection reset")


def test_a_download_cut_short_leaves_no_file_behind(
    make_flavour: MakeFlavour, tmp_path: Path
) -> None:
    flavour = make_flavour(lambda _: httpx.Response(200, stream=_BrokenStream()))
    target = tmp_path / "big.bin"
    with pytest.raises(ConnectorUnreachableError):
        flavour.run(lambda client: client.s3("alice").download_file("b", "k", target))
    assert list(tmp_path.iterdir()) == []


def test_a_download_replaces_an_existing_file_only_when_complete(
    make_flavour: MakeFlavour, tmp_path: Path
) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    flavour = make_flavour(httpx.Response(200, content=b"new content"))
    assert flavour.run(lambda client: client.download_file("alice", "b", "k", str(target))) == (
        target
    )
    assert target.read_bytes() == b"new content"


def test_open_object_streams_chunks_with_the_object_headers(make_flavour: MakeFlavour) -> None:
    served = httpx.Response(
        206,
        content=b"x" * 200_000,
        headers={"Content-Type": "text/plain", "ETag": '"e"', "Content-Range": "bytes 0-1/9"},
    )
    flavour = make_flavour(served)
    if flavour.kind == "sync":
        with flavour.client.open_object("alice", "b", "k", byte_range="bytes=0-1") as obj:
            meta, chunks = obj.meta, list(obj)
    else:

        async def read() -> tuple[Any, list[bytes]]:
            async with flavour.client.open_object("alice", "b", "k", byte_range="bytes=0-1") as obj:
                return obj.meta, [chunk async for chunk in obj]

        meta, chunks = asyncio.run(read())
    assert (meta.status, meta.content_type, meta.etag, meta.content_length) == (
        206,
        "text/plain",
        '"e"',
        200_000,
    )
    assert meta.content_range == "bytes 0-1/9"
    assert len(chunks) > 1
    assert b"".join(chunks) == b"x" * 200_000
    assert flavour.fake.last.headers["range"] == "bytes=0-1"


def test_the_async_client_streams_an_async_iterator_up() -> None:
    flavour = Flavour("async", FakeConnector(ok(STORED)), NO_JITTER)

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two"):
            yield part

    client: AsyncConnectorClient = flavour.client
    flavour.run(lambda _: client.put_object("alice", "b", "k", chunks()))
    assert flavour.fake.bodies == [b"one two"]
    assert "content-length" not in flavour.fake.last.headers


def test_the_sync_client_refuses_an_async_iterator() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"never"

    flavour = Flavour("sync", FakeConnector(ok(STORED)), NO_JITTER)
    with pytest.raises(TypeError, match="sync client"):
        flavour.run(lambda client: client.put_object("alice", "b", "k", chunks()))
