"""What becomes of a success answer's body, for either client flavour: decoded in memory, or
streamed into a file that appears whole or not at all."""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class Receiver(ABC, Generic[T]):
    @abstractmethod
    def sync(self, chunks: Iterator[bytes]) -> T:
        """The result, from the body's chunks."""

    @abstractmethod
    async def async_(self, chunks: AsyncIterator[bytes]) -> T:
        """The result, from the body's chunks."""


class Decode(Receiver[T]):
    """The whole body, then `decode` (envelopes and small objects)."""

    def __init__(self, decode: Callable[[bytes], T]) -> None:
        self._decode = decode

    def sync(self, chunks: Iterator[bytes]) -> T:
        return self._decode(b"".join(chunks))

    async def async_(self, chunks: AsyncIterator[bytes]) -> T:
        return self._decode(b"".join([chunk async for chunk in chunks]))


class SaveTo(Receiver[Path]):
    """Chunks written to a hidden sibling file, renamed onto `path` once complete: a failed
    download never leaves a truncated file under the real name."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _partial(self) -> Path:
        return self._path.with_name(f".{self._path.name}.{secrets.token_hex(4)}.part")

    def sync(self, chunks: Iterator[bytes]) -> Path:
        partial = self._partial()
        try:
            with partial.open("xb") as file:
                for chunk in chunks:
                    file.write(chunk)
            partial.replace(self._path)
        finally:
            partial.unlink(missing_ok=True)
        return self._path

    async def async_(self, chunks: AsyncIterator[bytes]) -> Path:
        partial = anyio.Path(self._partial())
        try:
            async with await anyio.open_file(partial, "xb") as file:
                async for chunk in chunks:
                    await file.write(chunk)
            await partial.replace(self._path)
        finally:
            await partial.unlink(missing_ok=True)
        return self._path
