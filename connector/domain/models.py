"""Domain objects: connections, API keys, scopes. Secrets here are always sealed (ciphertext)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

import msgspec

from connector.domain.providers import DEFAULT_PROVIDER


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"


class SealedTokens(msgspec.Struct, frozen=True, kw_only=True):
    """The user's Cognito tokens, each sealed by the Cipher port: never plaintext at rest."""

    access_token: str
    id_token: str
    refresh_token: str | None


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """A user's connection to one Cognito provider, as the ConnectionStore keeps it.

    `version` is owned by the store: it starts at 1 and grows by one on every write, so a
    writer that read version N can only write if nobody wrote in between.
    """

    user_id: str
    provider: str = DEFAULT_PROVIDER
    """The Cognito set-up this connection belongs to: a user has at most one per provider."""
    status: ConnectionStatus
    sub: str
    username: str | None
    email: str | None
    scopes: tuple[str, ...]
    identity_id: str | None
    tokens: SealedTokens
    issued_at: datetime
    """When the current access token was issued; with `expires_at` it gives the lifetime the
    refresh windows are fractions of."""
    expires_at: datetime
    last_refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = 0


ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
"""An IAM role ARN (partition, 12-digit account, path and name)."""


class Scope(StrEnum):
    """What an API key may do. Values are the strings of the CLI and docs/contract.md."""

    CONNECT = "connect"
    CONNECTION_READ = "connection:read"
    TOKEN_READ = "token:read"  # noqa: S105 - a scope name, not a secret
    CREDENTIALS_READ = "credentials:read"
    S3_READ = "s3:read"
    S3_WRITE = "s3:write"
    LAMBDA_READ = "lambda:read"
    LAMBDA_INVOKE = "lambda:invoke"


DEFAULT_SCOPES: frozenset[Scope] = frozenset(
    {
        Scope.CONNECT,
        Scope.CONNECTION_READ,
        Scope.S3_READ,
        Scope.S3_WRITE,
        Scope.LAMBDA_READ,
        Scope.LAMBDA_INVOKE,
    }
)
WRITE_SCOPES: frozenset[Scope] = frozenset({Scope.S3_WRITE, Scope.LAMBDA_INVOKE})


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A caller's key as stored: only the SHA-256 of the secret part, never the key itself."""

    id: str
    name: str
    key_hash: str
    scopes: frozenset[Scope]
    buckets: tuple[str, ...]
    functions: tuple[str, ...]
    read_only: bool
    created_at: datetime
    revoked_at: datetime | None = None
    role: str | None = None
    """An IAM role ARN: calls with this key run as the user's credentials chained into it
    (role elevation, sts:AssumeRole)."""
    providers: tuple[str, ...] = ()
    """The providers the key may act on; empty means every provider."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None
