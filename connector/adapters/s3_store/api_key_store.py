"""S3ApiKeyStore: the ApiKeyStore port in the connections' bucket, under its own prefix."""

from __future__ import annotations

from datetime import datetime

import msgspec

from connector.adapters.s3_store.codec import (
    CorruptRecordError,
    decode_api_key,
    decode_name_claim,
    encode_api_key,
    encode_name_claim,
)
from connector.adapters.s3_store.layout import object_key
from connector.adapters.s3_store.objects import S3Objects
from connector.adapters.s3_store.records import Records
from connector.domain.models import ApiKey
from connector.errors import ValidationError, VersionConflictError

_ATTEMPTS = 3
LIST_PAGE = 1000  # ListObjectsV2's own maximum: keys are few, one page is the usual case


class S3ApiKeyStore:
    """One object per key, read by id on every request. A second object per name claims the
    name (`If-None-Match: *`), so two keys never share one. The key object is written before
    its claim, so a claim naming no key was left by an interrupted create and is taken over.
    Revocation is a conditional write: the first revocation time stays."""

    def __init__(self, objects: S3Objects) -> None:
        self._objects = objects
        self._records = Records(objects, objects.layout.api_keys, decode_api_key, noun="API key")
        self._names = objects.layout.api_key_names

    async def create(self, key: ApiKey) -> None:
        """Store a new key; ValidationError if its id or name is taken."""
        key_object = self._records.key(key.id)
        try:
            await self._objects.put(key_object, encode_api_key(key), if_match=None)
        except VersionConflictError:
            raise ValidationError(f"an API key with the id {key.id!r} already exists") from None
        try:
            await self._claim(key)
        except BaseException:
            # Withdraw the key: nobody has seen its secret, and the name is not its own.
            await self._objects.delete(key_object)
            raise

    async def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or not."""
        read = await self._records.read(key_id)
        return None if read is None else read[0]

    async def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        keys = [key async for page in self._records.pages(LIST_PAGE) for key in page]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    async def revoke(self, id_or_name: str, at: datetime) -> ApiKey | None:
        """Mark revoked at `at` unless already revoked; an id matches before a name."""
        for _ in range(_ATTEMPTS):
            found = await self._resolve(id_or_name)
            if found is None:
                return None
            key, etag = found
            if key.revoked_at is not None:
                return key
            revoked = msgspec.structs.replace(key, revoked_at=at)
            try:
                await self._objects.put(
                    self._records.key(key.id), encode_api_key(revoked), if_match=etag
                )
            except VersionConflictError:
                continue  # another replica revoked it first: read its time
            return revoked
        raise VersionConflictError(f"the API key {id_or_name!r} kept changing")

    async def _claim(self, key: ApiKey) -> None:
        claim_key = object_key(self._names, key.name)
        etag: str | None = None  # create only, at first
        for _ in range(_ATTEMPTS):
            try:
                await self._objects.put(claim_key, encode_name_claim(key.id), if_match=etag)
            except VersionConflictError:
                claim = await self._objects.get(claim_key)
                if claim is not None and await self._claimed_key(claim.body) is not None:
                    raise ValidationError(f"an API key named {key.name!r} already exists") from None
                etag = None if claim is None else claim.etag
                continue
            return
        raise ValidationError(f"the name {key.name!r} is being claimed by another create")

    async def _claimed_key(self, claim: bytes) -> tuple[ApiKey, str] | None:
        # A claim that does not decode, or names no key, holds no name.
        try:
            key_id = decode_name_claim(claim)
        except CorruptRecordError:
            return None
        return await self._records.read(key_id)

    async def _resolve(self, id_or_name: str) -> tuple[ApiKey, str] | None:
        by_id = await self._records.read(id_or_name)
        if by_id is not None:
            return by_id
        claim = await self._objects.get(object_key(self._names, id_or_name))
        return None if claim is None else await self._claimed_key(claim.body)
