"""The JSON documents of the S3 store: one connection, one API key, or one key-name claim each.

Each document is `{"format": 1, ...}` around the domain struct, so a later format can be told
apart. Tokens arrive sealed (the Cipher port seals them before any store sees them) and are
written as they are, exactly like the SQL adapter's token columns. The version lives inside the
document: S3 has no column to keep it in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypeVar

import msgspec

from connector.adapters.s3_store.layout import split_connection_id
from connector.domain.models import ApiKey, Connection

_FORMAT: Literal[1] = 1
T = TypeVar("T")


class _ConnectionDocument(msgspec.Struct, frozen=True):
    format: Literal[1]
    connection: Connection


class _ApiKeyDocument(msgspec.Struct, frozen=True):
    format: Literal[1]
    api_key: ApiKey


class _NameClaim(msgspec.Struct, frozen=True):
    format: Literal[1]
    id: str


class CorruptRecordError(Exception):
    """A stored document that does not decode; the message says why, never what it holds."""


# Sorted sets and keys: the same record always gives the same bytes (and the same ETag).
_encoder = msgspec.json.Encoder(order="deterministic")
_connection_decoder = msgspec.json.Decoder(_ConnectionDocument)
_api_key_decoder = msgspec.json.Decoder(_ApiKeyDocument)
_claim_decoder = msgspec.json.Decoder(_NameClaim)


def encode_connection(connection: Connection) -> bytes:
    """The document of `connection`; its times in UTC, as every adapter returns them."""
    utc = msgspec.structs.replace(
        connection,
        issued_at=_utc(connection.issued_at),
        expires_at=_utc(connection.expires_at),
        last_refreshed_at=_utc_or_none(connection.last_refreshed_at),
        created_at=_utc(connection.created_at),
        updated_at=_utc(connection.updated_at),
    )
    return _encoder.encode(_ConnectionDocument(_FORMAT, utc))


def decode_connection(body: bytes, record_id: str) -> Connection:
    """The connection of the record `record_id` (layout.connection_id) stored in `body`;
    CorruptRecordError otherwise. Documents written before providers existed hold no provider
    and decode as the default provider's."""
    connection = _decode(_connection_decoder, body).connection
    user_id, provider = split_connection_id(record_id)
    if connection.user_id != user_id:
        # A document copied under another user's key must not act for that user.
        raise CorruptRecordError("the document holds the connection of another user")
    if connection.provider != provider:
        raise CorruptRecordError("the document holds a connection of another provider")
    return connection


def encode_api_key(key: ApiKey) -> bytes:
    utc = msgspec.structs.replace(
        key, created_at=_utc(key.created_at), revoked_at=_utc_or_none(key.revoked_at)
    )
    return _encoder.encode(_ApiKeyDocument(_FORMAT, utc))


def decode_api_key(body: bytes, key_id: str) -> ApiKey:
    key = _decode(_api_key_decoder, body).api_key
    if key.id != key_id:
        raise CorruptRecordError("the document holds another API key")
    return key


def encode_name_claim(key_id: str) -> bytes:
    return _encoder.encode(_NameClaim(_FORMAT, key_id))


def decode_name_claim(body: bytes) -> str:
    return _decode(_claim_decoder, body).id


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        # msgspec names the failing path and type, never the values read.
        raise CorruptRecordError(str(exc)) from None


def _utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        # As the SQL adapter does: a naive datetime is a bug, not a time in some zone.
        raise ValueError("naive datetime refused: store timezone-aware datetimes")
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)
