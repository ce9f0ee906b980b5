"""GET /oauth2/userInfo: the user's attributes for a live, unrevoked access token."""

from __future__ import annotations

from typing import Any

from connector.sandbox.hosted_ui.errors import OAuthError, invalid_token
from connector.sandbox.hosted_ui.hosted_ui import HostedUi
from connector.sandbox.hosted_ui.tokens import verify_access_token


async def userinfo(hosted_ui: HostedUi, authorization: str | None) -> dict[str, Any]:
    """GET /oauth2/userInfo: the user's attributes for a live access token, else invalid_token."""
    scheme, _, access = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not access.strip():
        raise OAuthError("invalid_request", "Bad OAuth2 request at UserInfo Endpoint")
    claims = verify_access_token(
        access.strip(),
        hosted_ui.keys.access_token_key,
        issuer=hosted_ui.config.issuer,
        now=hosted_ui.now(),
    )
    origin = claims.get("origin_jti")
    if isinstance(origin, str) and hosted_ui.store.is_revoked(origin):
        raise invalid_token("Access token has been revoked")
    user = await hosted_ui.directory.get(str(claims.get("username", "")))
    if user is None or user.sub != claims.get("sub"):
        raise invalid_token("Access token is expired, disabled, or deleted")
    # Cognito sends email_verified as a string here, unlike the boolean in the ID token.
    return {
        "sub": user.sub,
        "email_verified": "true" if user.email_verified else "false",
        "email": user.email,
        "username": user.username,
    }
