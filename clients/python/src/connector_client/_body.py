"""Request bodies for either client flavour: bytes, a file (path or object) or an iterator.

A body knows whether it can be sent twice: only those are retried. Files are read in chunks,
so an upload of any size keeps memory flat.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import anyio
import anyio.to_thread
import msgspec

CHUNK = 1 << 20

BodyLike = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes] | AsyncIterable[bytes]
"""What `put_object` takes; an async iterable only on the async client."""


class Body(ABC):
    content_length: int | None = None
    replayable: bool = True
    """Whether a retry can send it again."""

    @abstractmethod
    def for_sync(self) -> bytes | Iterator[bytes]:
        """The content for httpx.Client (one fresh pass over it)."""

    @abstractmethod
    def for_async(self) -> bytes | AsyncIterator[bytes]:
        """The content for httpx.AsyncClient (one fresh pass over it)."""


class BytesBody(Body):
    def __init__(self, content: bytes) -> None:
        self._content = content
        self.content_length = len(content)

    def for_sync(self) -> bytes:
        return self._content

    def for_async(self) -> bytes:
        return self._content


class PathBody(Body):
    """A file on disk, opened afresh for each attempt."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.content_length = path.stat().st_size

    def for_sync(self) -> Iterator[bytes]:
        with self._path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk

    async def for_async(self) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self._path, "rb") as file:
            while chunk := await file.read(CHUNK):
                yield chunk


class FileBody(Body):
    """An open binary file, read from where it stands; a seekable one goes back there to retry."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.replayable = file.seekable()
        if self.replayable:
            self._start = file.tell()
            self.content_length = file.seek(0, 2) - self._start
            file.seek(self._start)

    def _rewind(self) -> None:
        if self.replayable:
            self._file.seek(self._start)

    def for_sync(self) -> Iterator[bytes]:
        self._rewind()
        while chunk := self._file.read(CHUNK):
            yield chunk

    async def for_async(self) -> AsyncIterator[bytes]:
        self._rewind()
        while chunk := await anyio.to_thread.run_sync(self._file.read, CHUNK):
            yield chunk


class StreamBody(Body):
    """An iterator of chunks: it can be consumed once, so it is never retried."""

    replayable = False

    def __init__(self, chunks: Iterable[bytes] | AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self._used = False

    def _take(self) -> Iterable[bytes] | AsyncIterable[bytes]:
        if self._used:
            raise RuntimeError("a streamed body can only be sent once")
        self._used = True
        return self._chunks

    def for_sync(self) -> Iterator[bytes]:
        chunks = self._take()
        if isinstance(chunks, AsyncIterable):
            raise TypeError("the sync client needs bytes, a file or a sync iterable of bytes")
        return iter(chunks)

    async def for_async(self) -> AsyncIterator[bytes]:
        chunks = self._take()
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                yield chunk
        else:
            for chunk in chunks:
                yield chunk


def json_body(value: Any) -> BytesBody:
    """`value` as JSON (msgspec encodes Structs, dataclasses and datetimes too)."""
    return BytesBody(msgspec.json.encode(value))


def body_of(value: BodyLike | Path) -> Body:
    """The Body for what a caller handed to put_object or upload_file."""
    if isinstance(value, str):
        return BytesBody(value.encode())
    if isinstance(value, bytes | bytearray | memoryview):
        return BytesBody(bytes(value))
    if isinstance(value, Path):
        return PathBody(value)
    if hasattr(value, "read"):
        return FileBody(cast("IO[bytes]", value))
    return StreamBody(value)
