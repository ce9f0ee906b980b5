"""Records: the typed JSON documents of one folder, read by id and listed in id order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from connector.adapters.s3_store.codec import CorruptRecordError
from connector.adapters.s3_store.layout import PLAIN, Naming, id_of, object_key
from connector.adapters.s3_store.objects import S3Objects
from connector.errors import InternalError

log = logging.getLogger(__name__)
R = TypeVar("R")


class Records(Generic[R]):
    """A document that does not decode is an error for its own id alone: reads of it raise
    INTERNAL_ERROR saying which object to fix, listings log it and go on without it."""

    def __init__(
        self,
        objects: S3Objects,
        folder: str,
        decode: Callable[[bytes, str], R],
        *,
        noun: str,
        remedy: str = "",
        naming: Naming = PLAIN,
    ) -> None:
        self.objects = objects
        self.folder = folder
        self._decode = decode
        self._noun = noun
        self._remedy = remedy
        self._naming = naming

    def key(self, record_id: str) -> str:
        return object_key(self.folder, record_id, self._naming)

    def id_of(self, key: str) -> str | None:
        """The id of a listed key, or None for an object this folder never holds."""
        return id_of(self.folder, key, self._naming)

    async def read(self, record_id: str) -> tuple[R, str] | None:
        """The record and the ETag it was read at, or None when there is none."""
        stored = await self.objects.get(self.key(record_id))
        if stored is None:
            return None
        try:
            return self._decode(stored.body, record_id), stored.etag
        except CorruptRecordError as exc:
            raise InternalError(self._unreadable(record_id, exc)) from exc

    async def pages(
        self, page_size: int, *, on_unreadable: Callable[[str], None] | None = None
    ) -> AsyncIterator[list[R]]:
        """Every record, one ListObjectsV2 page at a time, in id order (the key encoding keeps
        byte order). Keyset pages: records rewritten or deleted meanwhile shift nothing."""
        after: str | None = None
        while True:
            keys, more = await self.objects.list_keys(self.folder, after=after, limit=page_size)
            ids = [
                i for i in (id_of(self.folder, key, self._naming) for key in keys) if i is not None
            ]
            found = await asyncio.gather(*(self._read_listed(i, on_unreadable) for i in ids))
            yield [record for record in found if record is not None]
            if not more or not keys:
                return
            after = keys[-1]

    async def _read_listed(
        self, record_id: str, on_unreadable: Callable[[str], None] | None
    ) -> R | None:
        # None for an object deleted since the listing, as for a row deleted meanwhile.
        stored = await self.objects.get(self.key(record_id))
        if stored is None:
            return None
        try:
            return self._decode(stored.body, record_id)
        except CorruptRecordError as exc:
            log.error("skipped while listing: %s", self._unreadable(record_id, exc))
            if on_unreadable is not None:
                on_unreadable(record_id)
            return None

    def _unreadable(self, record_id: str, exc: CorruptRecordError) -> str:
        url = self.objects.layout.url(self.key(record_id))
        return (
            f"the stored {self._noun} {record_id!r} cannot be read ({exc}):"
            f" restore or delete {url}{self._remedy}"
        )
