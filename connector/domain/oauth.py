"""OAuth values: what the identity provider grants, what a verified ID token says, flow state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from connector.domain.models import SealedTokens
from connector.domain.providers import DEFAULT_PROVIDER


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
    email_verified: bool = False
    """True only when the token says `email_verified: true` (an unverified email binds nothing)."""


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
    PENDING_CONFIRMATION = "pending_confirmation"
    """Signed in at Cognito; the app has not yet confirmed (identity binding `confirm`)."""
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


class FlowStart(msgspec.Struct, frozen=True, kw_only=True):
    """A started flow: where to send the browser, and the `state` that names the flow."""

    auth_url: str
    state: str
    expires_at: datetime


class FlowRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a flow's `state` is bound to while the browser is at the Hosted UI (10 minutes).

    `code_verifier` is sealed: the record lives in the cache, and a PKCE verifier is a secret.
    """

    user_id: str
    key_id: str | None
    """The API key that started the flow: only that key may complete or confirm it."""
    code_verifier: str
    nonce: str
    redirect_uri: str | None
    replace: bool = False
    """Started with `replace=true`: a different Cognito account may replace the stored one."""
    provider: str = DEFAULT_PROVIDER
    """The provider the flow signs in at: one /callback serves every provider."""
    created_at: datetime
    expires_at: datetime


class PendingGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A verified sign-in waiting for the app to confirm that its user is the flow's user
    (identity binding `confirm`). Tokens are sealed; the record is found by the hash of its
    one-time confirmation, never by the confirmation itself."""

    state: str
    user_id: str
    key_id: str | None
    replace: bool
    provider: str = DEFAULT_PROVIDER
    tokens: SealedTokens
    claims: IdentityClaims
    scopes: tuple[str, ...]
    token_lifetime: int
    """Seconds the access token lives from `created_at` (the grant's `expires_in`)."""
    created_at: datetime
    expires_at: datetime
    """The confirmation is refused from this instant; the sweeper revokes the grant after it."""
    flow_expires_at: datetime
