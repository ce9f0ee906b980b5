"""A real OAuth client library (authlib) completes the code + PKCE flow against the stand-in."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
from jose import jwt
from support.hosted_ui_harness import ALICE, CALLBACK, ISSUER, WEB_CLIENT, WEB_SECRET, Sandbox

with warnings.catch_warnings():
    # authlib installs an "always" filter for its own warnings on import, so ours goes after it.
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message=".*httpx2.*", category=DeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import AsyncOAuth2Client


async def test_authlib_client_completes_code_pkce_refresh_and_revoke(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)  # type: ignore[arg-type]
    verifier = generate_token(64)
    async with AsyncOAuth2Client(
        client_id=WEB_CLIENT,
        client_secret=WEB_SECRET,
        scope="openid email profile",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        transport=transport,
        base_url="http://hosted-ui.test",
    ) as oauth:
        url, state = oauth.create_authorization_url(
            "http://hosted-ui.test/oauth2/authorize", code_verifier=verifier, nonce="authlib-nonce"
        )
        page = await sandbox.http.get(url)  # the browser, not the OAuth client
        callback = await sandbox.submit_login(page, ALICE.username, ALICE.password)

        token: dict[str, Any] = await oauth.fetch_token(
            "http://hosted-ui.test/oauth2/token",
            authorization_response=callback.headers["location"],
            code_verifier=verifier,
            state=state,
        )
        jwks_url = f"{ISSUER}/.well-known/jwks.json"
        jwks = (await oauth.request("GET", jwks_url, withhold_token=True)).json()
        claims = jwt.decode(
            token["id_token"],
            jwks,
            audience=WEB_CLIENT,
            issuer=ISSUER,
            access_token=token["access_token"],
        )
        userinfo = await oauth.get("http://hosted-ui.test/oauth2/userInfo")
        refreshed = await oauth.refresh_token(
            "http://hosted-ui.test/oauth2/token", refresh_token=token["refresh_token"]
        )
        revoked = await oauth.revoke_token(
            "http://hosted-ui.test/oauth2/revoke",
            token=token["refresh_token"],
            token_type_hint="refresh_token",
        )

    assert claims["nonce"] == "authlib-nonce"
    assert claims["sub"] == ALICE.sub
    assert userinfo.json()["username"] == "alice"
    assert refreshed["refresh_token"] == token["refresh_token"]  # authlib keeps the old one
    assert "nonce" not in jwt.get_unverified_claims(refreshed["id_token"])
    assert revoked.status_code == 200
    assert sandbox.hosted_ui.stats.code_grants == sandbox.hosted_ui.stats.refresh_grants == 1
    assert sandbox.hosted_ui.stats.pkce_methods == {"S256": 1}
    assert (await sandbox.refresh(token["refresh_token"])).json()["error"] == "invalid_grant"
