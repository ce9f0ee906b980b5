"""Objects read as a stream of chunks (`open_object`), for either client flavour."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from connector_client.models import ObjectMeta


@dataclass(frozen=True, slots=True)
class ObjectStream:
    """An object being downloaded: its headers, then its chunks (iterate once)."""

    meta: ObjectMeta
    chunks: Iterator[bytes]

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def read(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True, slots=True)
class AsyncObjectStream:
    """An object being downloaded: its headers, then its chunks (iterate once)."""

    meta: ObjectMeta
    chunks: AsyncIterator[bytes]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks])
