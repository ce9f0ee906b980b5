"""Where each record lives in the bucket: `s3://bucket/prefix/` and the object key of every record.

    <prefix>connections/<name(user id)>.json            the default provider's connection
    <prefix>connections/<name(user id)>-<provider>.json another provider's connection
    <prefix>connections-by-sub/<name(sub)>/<name(record id)>.json   an index entry: `{}`
      (the record id is the user id, then `/provider` unless it is the default)
    <prefix>api-keys/<name(key id)>.json
    <prefix>api-key-names/<name(key name)>.json     claims a key name: {"id": ...}
    <prefix>probes/<random>.json                    the start-up check of conditional writes
    <prefix>outbox/pending/<name(record id)>.json   a webhook record waiting (or being delivered)
    <prefix>outbox/settled/<name(record id)>.json   a record delivered or given up
    <prefix>outbox/intents/<name(event id)>.json    events of a connection write in flight

`name(x)` is unpadded base32hex (RFC 4648) of the UTF-8 bytes of x. Reversible and collision-free
for any string; one case only, so case-insensitive S3-compatible backends cannot merge two users;
no `/`, `.` or `..` can appear, so no id escapes its folder; and its alphabet is in ASCII order,
so listing keys in S3's byte order walks ids in byte order, as the port's `iterate` requires
(base64url and percent-encoding both break that order). A provider name follows a `-`, which
base32hex never holds and which sorts before every character it does: one user's connections
stay together, in user id order, and the documents written before providers existed are read
as the default provider's, where they are.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from connector.domain.aws_names import KEY_MAX_BYTES, validate_bucket_name
from connector.domain.providers import DEFAULT_PROVIDER, is_provider_name
from connector.errors import ConfigurationError, ValidationError

VARIABLE = "CONNECTOR_DATABASE_URL"
SUFFIX = ".json"
# Leaves room for the folder and a 128-character id (205 characters once encoded).
PREFIX_MAX_BYTES = 512


def encode_name(text: str) -> str:
    """The object name of an id: base32hex without padding (see the module docstring)."""
    return base64.b32hexencode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_name(name: str) -> str | None:
    """The id of an object name, or None for a name this layout never writes."""
    try:
        text = base64.b32hexdecode(name + "=" * (-len(name) % 8)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    # Only the canonical spelling counts: a foreign name must never alias an id.
    return text if encode_name(text) == name else None


class Naming(NamedTuple):
    """How the ids of one folder become object names and back."""

    encode: Callable[[str], str]
    decode: Callable[[str], str | None]


def connection_id(user_id: str, provider: str) -> str:
    """The record id of a connection: the user id, then `/provider` unless it is the default
    (no user id holds a `/`)."""
    return user_id if provider == DEFAULT_PROVIDER else f"{user_id}/{provider}"


def split_connection_id(record_id: str) -> tuple[str, str]:
    """(user id, provider) of a connection's record id."""
    user_id, _, provider = record_id.partition("/")
    return user_id, provider or DEFAULT_PROVIDER


def _encode_connection_name(record_id: str) -> str:
    user_id, provider = split_connection_id(record_id)
    name = encode_name(user_id)
    return name if provider == DEFAULT_PROVIDER else f"{name}-{provider}"


def _decode_connection_name(name: str) -> str | None:
    stem, separator, provider = name.partition("-")
    user_id = decode_name(stem)
    if user_id is None:
        return None
    if not separator:
        return user_id
    if provider == DEFAULT_PROVIDER or not is_provider_name(provider):
        return None  # never written: the default provider has no suffix
    return connection_id(user_id, provider)


PLAIN = Naming(encode_name, decode_name)
CONNECTIONS = Naming(_encode_connection_name, _decode_connection_name)


@dataclass(frozen=True, slots=True)
class S3Layout:
    """The bucket and the normalized prefix (empty, or ending in `/`) of one store."""

    bucket: str
    prefix: str

    @classmethod
    def from_url(cls, url: str) -> S3Layout:
        """`s3://bucket`, `s3://bucket/prefix` or `s3://bucket/prefix/` (the same store)."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigurationError(VARIABLE, "an S3 store URL looks like s3://bucket/prefix/")
        if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
            raise ConfigurationError(
                VARIABLE, "an S3 store URL takes no credentials, port, query or fragment"
            )
        try:
            bucket = validate_bucket_name(parts.netloc)
        except ValidationError as exc:
            raise ConfigurationError(VARIABLE, f"{exc.message} ({parts.netloc!r})") from None
        segments = parts.path.strip("/").split("/") if parts.path.strip("/") else []
        if any(segment in ("", ".", "..") for segment in segments):
            raise ConfigurationError(
                VARIABLE, "the S3 prefix may not hold empty, '.' or '..' segments"
            )
        prefix = "".join(f"{segment}/" for segment in segments)
        if len(prefix.encode("utf-8")) > PREFIX_MAX_BYTES:
            raise ConfigurationError(VARIABLE, f"the S3 prefix is over {PREFIX_MAX_BYTES} bytes")
        return cls(bucket, prefix)

    @property
    def connections(self) -> str:
        return f"{self.prefix}connections/"

    def connections_of_sub(self, sub: str) -> str:
        """The folder of the index entries of one Cognito `sub` (MCP user mode's lookup)."""
        return f"{self.prefix}connections-by-sub/{encode_name(sub)}/"

    @property
    def api_keys(self) -> str:
        return f"{self.prefix}api-keys/"

    @property
    def api_key_names(self) -> str:
        return f"{self.prefix}api-key-names/"

    @property
    def probes(self) -> str:
        return f"{self.prefix}probes/"

    @property
    def outbox_pending(self) -> str:
        return f"{self.prefix}outbox/pending/"

    @property
    def outbox_settled(self) -> str:
        return f"{self.prefix}outbox/settled/"

    @property
    def outbox_intents(self) -> str:
        return f"{self.prefix}outbox/intents/"

    def url(self, key: str = "") -> str:
        """The `s3://` URL of an object (or of the store), for messages that say what to fix."""
        return f"s3://{self.bucket}/{key or self.prefix}"


def object_key(folder: str, text: str, naming: Naming = PLAIN) -> str:
    """The key of the record `text` (a user id, key id, name) in `folder`."""
    key = f"{folder}{naming.encode(text)}{SUFFIX}"
    if len(key.encode("utf-8")) > KEY_MAX_BYTES:
        raise ValueError(f"an id of {len(text)} characters does not fit in an S3 key")
    return key


def id_of(folder: str, key: str, naming: Naming = PLAIN) -> str | None:
    """The id a key of `folder` stands for, or None for an object this layout never writes."""
    if not key.startswith(folder) or not key.endswith(SUFFIX):
        return None
    return naming.decode(key[len(folder) : -len(SUFFIX)])
