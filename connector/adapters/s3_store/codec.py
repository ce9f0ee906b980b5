"""The JSON documents of the S3 store: one connection, one API key, one key-name claim, or one
webhook outbox record (or intent) each.

Each document is `{"format": 1, ...}` around the domain struct, so a later format can be told
apart. Tokens arrive sealed (the Cipher port seals them before any store sees them) and are
written as they are, exactly like the SQL adapter's token columns. The version lives inside the
document: S3 has no column to keep it in.

A connection document also carries the outbox records of the write that produced it (the
write and its events are one conditional PUT), and a deleted connection is first a *tombstone*:
a document without a connection that carries the deletion's events until they are published.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypeVar

import msgspec

from connector.adapters.s3_store.layout import split_connection_id
from connector.domain.events import OutboxRecord
from connector.domain.models import ApiKey, Connection

_FORMAT: Literal[1] = 1
T = TypeVar("T")


class ConnectionDocument(msgspec.Struct, frozen=True, omit_defaults=True):
    """A connection and the events its write produced; `connection` None is a tombstone."""

    format: Literal[1]
    connection: Connection | None
    outbox: tuple[OutboxRecord, ...] = ()


class OutboxDocument(msgspec.Struct, frozen=True):
    """One outbox record and its lease (who delivers it, until when)."""

    format: Literal[1]
    record: OutboxRecord
    lease_owner: str | None = None
    lease_until: datetime | None = None


class IntentDocument(msgspec.Struct, frozen=True):
    """Written before a connection write that carries events: names the connection whose
    document will hold them, so events of a writer that dies before publishing are found."""

    format: Literal[1]
    connection_id: str
    records: tuple[OutboxRecord, ...]


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
_connection_decoder = msgspec.json.Decoder(ConnectionDocument)
_outbox_decoder = msgspec.json.Decoder(OutboxDocument)
_intent_decoder = msgspec.json.Decoder(IntentDocument)
_api_key_decoder = msgspec.json.Decoder(_ApiKeyDocument)
_claim_decoder = msgspec.json.Decoder(_NameClaim)


def encode_connection(
    connection: Connection | None, outbox: tuple[OutboxRecord, ...] = ()
) -> bytes:
    """The document of `connection` (None: a tombstone) and the events of its write; times in
    UTC, as every adapter returns them."""
    utc = None
    if connection is not None:
        utc = msgspec.structs.replace(
            connection,
            issued_at=_utc(connection.issued_at),
            expires_at=_utc(connection.expires_at),
            last_refreshed_at=_utc_or_none(connection.last_refreshed_at),
            created_at=_utc(connection.created_at),
            updated_at=_utc(connection.updated_at),
        )
    records = tuple(outbox_record_in_utc(r) for r in outbox)
    return _encoder.encode(ConnectionDocument(_FORMAT, utc, records))


def decode_connection(body: bytes, record_id: str) -> ConnectionDocument:
    """The document of the record `record_id` (layout.connection_id) stored in `body`;
    CorruptRecordError otherwise. Documents written before providers existed hold no provider
    and decode as the default provider's."""
    document = _decode(_connection_decoder, body)
    connection = document.connection
    if connection is None:
        return document
    user_id, provider = split_connection_id(record_id)
    if connection.user_id != user_id:
        # A document copied under another user's key must not act for that user.
        raise CorruptRecordError("the document holds the connection of another user")
    if connection.provider != provider:
        raise CorruptRecordError("the document holds a connection of another provider")
    return document


def outbox_record_in_utc(record: OutboxRecord) -> OutboxRecord:
    return msgspec.structs.replace(
        record,
        created_at=_utc(record.created_at),
        next_attempt_at=_utc(record.next_attempt_at),
        settled_at=_utc_or_none(record.settled_at),
    )


def encode_outbox(document: OutboxDocument) -> bytes:
    return _encoder.encode(
        msgspec.structs.replace(
            document,
            record=outbox_record_in_utc(document.record),
            lease_until=_utc_or_none(document.lease_until),
        )
    )


def decode_outbox(body: bytes, record_id: str) -> OutboxDocument:
    document = _decode(_outbox_decoder, body)
    if document.record.id != record_id:
        raise CorruptRecordError("the document holds another outbox record")
    return document


def encode_intent(connection_id: str, records: tuple[OutboxRecord, ...]) -> bytes:
    utc = tuple(outbox_record_in_utc(r) for r in records)
    return _encoder.encode(IntentDocument(_FORMAT, connection_id, utc))


def decode_intent(body: bytes, _intent_id: str) -> IntentDocument:
    return _decode(_intent_decoder, body)


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
