"""read_object holds at most its limit: text within it, a presigned URL past it or for binary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connector.api.mcp.calls import McpCall
from connector.api.mcp.tools import _read
from connector.domain.aws import ObjectStream, PresignedUrl
from connector.settings import McpSettings

LIMIT = 100


@dataclass
class FakeS3:
    """The two S3Service calls read_object makes; counts what was pulled from the stream."""

    chunks: list[bytes]
    content_type: str | None = "text/plain"
    content_length: int | None = None
    pulled: int = 0
    closed: bool = False
    presigned: list[str] = field(default_factory=list)

    async def open_object(self, caller: Any, user_id: str, bucket: str, key: str) -> ObjectStream:
        async def stream() -> AsyncIterator[bytes]:
            for chunk in self.chunks:
                self.pulled += len(chunk)
                yield chunk

        async def release() -> None:
            self.closed = True

        return ObjectStream(
            content_type=self.content_type,
            content_length=self.content_length,
            etag='"e"',
            content_range=None,
            status=200,
            last_modified=None,
            chunks=stream(),
            _release=release,
        )

    async def presign(self, caller: Any, user_id: str, bucket: str, key: str, **_: Any) -> Any:
        self.presigned.append(key)
        return PresignedUrl(
            url=f"https://s3.example/{key}?signed",
            method="GET",
            expires_at=datetime(2026, 12, 5, 12, 0, tzinfo=UTC),
        )


def call_with(s3: FakeS3) -> McpCall:
    services: Any = SimpleNamespace(oauth=lambda: SimpleNamespace(s3=s3))
    agent: Any = SimpleNamespace(key=None)
    return McpCall(services=services, agent=agent, settings=McpSettings(max_read_bytes=LIMIT))


async def test_text_within_the_limit_is_returned_as_text() -> None:
    s3 = FakeS3([b"hello ", "wörld".encode()])

    read = await _read(call_with(s3), "alice", "b", "k")

    assert read["text"] == "hello wörld"
    assert (read["url"], read["reason"]) == (None, None)
    assert s3.closed


async def test_a_stream_without_length_is_cut_at_the_limit_and_answered_with_a_url() -> None:
    s3 = FakeS3([b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60])

    read = await _read(call_with(s3), "alice", "b", "k")

    assert read["reason"] == "too_large"
    assert read["text"] is None
    assert read["url"] == "https://s3.example/k?signed"
    assert s3.pulled <= 2 * 60  # the chunk that would cross the limit is the last one read
    assert s3.closed


async def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    s3 = FakeS3([b"x" * 500], content_length=500)

    read = await _read(call_with(s3), "alice", "b", "k")

    assert read["reason"] == "too_large"
    assert s3.pulled == 0
    assert s3.closed


@pytest.mark.parametrize(
    ("content_type", "body", "pulled"),
    [
        ("image/png", b"\x89PNG", 0),
        ("application/octet-stream", b"\xff\xfe", 2),
        (None, b"a\x00b", 3),
    ],
    ids=["binary-type", "not-utf-8", "nul-bytes"],
)
async def test_binary_objects_get_a_presigned_url(
    content_type: str | None, body: bytes, pulled: int
) -> None:
    s3 = FakeS3([body], content_type=content_type)

    read = await _read(call_with(s3), "alice", "b", "k")

    assert read["reason"] == "binary"
    assert read["text"] is None
    assert read["url"] is not None
    assert s3.pulled == pulled
