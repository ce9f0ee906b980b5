"""OAuth values: what the identity provider grants, what a verified ID token says, flow state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class TokenGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A token endpoint answer, plaintext, in memory only (sealed before it is stored)."""

    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    scope: str | None = None


class IdentityClaims(msgspec.Struct, frozen=True, kw_only=True):
    """The verified claims of an ID token that the connection keeps."""

    sub: str
    username: str | None
    email: str | None
    expires_at: datetime


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    """The verified claims of a Cognito access token (it has no `aud`)."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime


class TokenSet(msgspec.Struct, frozen=True, kw_only=True):
    """A user's tokens opened from their sealed form, for one request."""

    access_token: str
    id_token: str
    refresh_token: str | None
    expires_at: datetime
    scopes: tuple[str, ...]


class FlowStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


class FlowState(msgspec.Struct, frozen=True, kw_only=True):
    """What a `state` value is bound to while the browser is at the Hosted UI (10 minutes).

    `code_verifier` is sealed: the state lives in Redis, and a PKCE verifier is a secret.
    """

    user_id: str
    code_verifier: str
    nonce: str
    redirect_uri: str | None
    created_at: datetime
    expires_at: datetime
