"""Cognito-shaped JWTs: the claims of ID and access tokens, RS256 signing and verification."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jose import JWTError, jwt

from connector.sandbox.hosted_ui.config import SandboxUser
from connector.sandbox.hosted_ui.errors import invalid_token
from connector.sandbox.hosted_ui.keys import SigningKey


@dataclass(frozen=True, slots=True)
class Grant:
    """Who the tokens are for and the sign-in they descend from (shared by every refresh)."""

    user: SandboxUser
    client_id: str
    scopes: tuple[str, ...]
    auth_time: int
    origin_jti: str
    event_id: str


def id_token_claims(
    grant: Grant, *, issuer: str, now: float, ttl: int, nonce: str | None
) -> dict[str, Any]:
    """An ID token's claims; `nonce` only when the sign-in carried one (never on refresh)."""
    iat = int(now)
    claims: dict[str, Any] = {
        "sub": grant.user.sub,
        "email_verified": grant.user.email_verified,
        "iss": issuer,
        "cognito:username": grant.user.username,
        "origin_jti": grant.origin_jti,
        "aud": grant.client_id,
        "event_id": grant.event_id,
        "token_use": "id",
        "auth_time": grant.auth_time,
        "exp": iat + ttl,
        "iat": iat,
        "jti": str(uuid.uuid4()),
        "email": grant.user.email,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def access_token_claims(grant: Grant, *, issuer: str, now: float, ttl: int) -> dict[str, Any]:
    """An access token's claims: `client_id` and `scope`, and no `aud`, as Cognito issues them."""
    iat = int(now)
    return {
        "sub": grant.user.sub,
        "iss": issuer,
        "client_id": grant.client_id,
        "origin_jti": grant.origin_jti,
        "event_id": grant.event_id,
        "token_use": "access",
        "scope": " ".join(grant.scopes),
        "auth_time": grant.auth_time,
        "exp": iat + ttl,
        "iat": iat,
        "jti": str(uuid.uuid4()),
        "username": grant.user.username,
    }


def sign(claims: Mapping[str, Any], key: SigningKey, *, access_token: str | None = None) -> str:
    """RS256 with `kid` in the header; with `access_token`, adds `at_hash` as the Hosted UI does."""
    return str(
        jwt.encode(
            dict(claims),
            key.signer,
            algorithm="RS256",
            headers={"kid": key.kid},
            access_token=access_token,
        )
    )


def verify_access_token(token: str, key: SigningKey, *, issuer: str, now: float) -> dict[str, Any]:
    """Signature, issuer, `token_use` and expiry (against the stand-in's clock) or invalid_token."""
    try:
        if jwt.get_unverified_header(token).get("kid") != key.kid:
            raise invalid_token("Access token is signed by an unknown key.")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.verifier,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_exp": False, "verify_aud": False},
        )
    except JWTError as exc:
        raise invalid_token("Access token is malformed or invalid.") from exc
    if claims.get("token_use") != "access":
        raise invalid_token("The token is not an access token.")
    exp = claims.get("exp")
    if not isinstance(exp, int) or now >= exp:
        raise invalid_token("Access token has expired.")
    return claims


def looks_like_jwt(token: str) -> str | None:
    """The `token_use` of a JWT (ID or access token) without verifying it; None otherwise."""
    try:
        use = jwt.get_unverified_claims(token).get("token_use")
    except JWTError:
        return None
    return use if isinstance(use, str) else None
