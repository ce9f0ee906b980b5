"""The whole authorization-code + PKCE flow, checked claim by claim as a connector would."""

from __future__ import annotations

from typing import Any

from jose import jwt
from support.hosted_ui_harness import ALICE, ISSUER, POOL_ID, SPA_CLIENT, WEB_CLIENT, Sandbox

from connector.sandbox.hosted_ui import ManualClock


def _verify_id_token(token: str, jwks: dict[str, Any], access_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        jwks,
        algorithms=["RS256"],
        audience=WEB_CLIENT,
        issuer=ISSUER,
        access_token=access_token,
    )
    return claims


async def test_full_flow_issues_verifiable_tokens_then_refresh_then_revoke(
    sandbox: Sandbox, clock: ManualClock
) -> None:
    now = int(sandbox.hosted_ui.now())
    sign_in = await sandbox.sign_in(nonce="nonce-abc")
    response = await sandbox.exchange(sign_in)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600

    jwks = await sandbox.jwks()
    id_header = jwt.get_unverified_header(body["id_token"])
    access_header = jwt.get_unverified_header(body["access_token"])
    assert id_header["alg"] == access_header["alg"] == "RS256"
    assert id_header["kid"] != access_header["kid"]
    assert {id_header["kid"], access_header["kid"]} == {key["kid"] for key in jwks["keys"]}

    id_claims = _verify_id_token(body["id_token"], jwks, body["access_token"])
    assert id_claims["sub"] == ALICE.sub
    assert id_claims["aud"] == WEB_CLIENT
    assert id_claims["iss"] == ISSUER
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == "alice"
    assert id_claims["email"] == "alice@example.com"
    assert id_claims["email_verified"] is True
    assert id_claims["nonce"] == "nonce-abc"
    assert id_claims["auth_time"] == id_claims["iat"] == now
    assert id_claims["exp"] == now + 3600
    assert id_claims["jti"] != id_claims["origin_jti"]
    assert "at_hash" in id_claims

    access_claims: dict[str, Any] = jwt.decode(
        body["access_token"], jwks, algorithms=["RS256"], issuer=ISSUER
    )
    assert "aud" not in access_claims
    assert access_claims["client_id"] == WEB_CLIENT
    assert access_claims["token_use"] == "access"
    assert access_claims["scope"] == "openid email profile"
    assert access_claims["username"] == "alice"
    assert access_claims["sub"] == ALICE.sub
    assert access_claims["auth_time"] == now
    assert access_claims["exp"] == now + 3600
    assert access_claims["origin_jti"] == id_claims["origin_jti"]
    assert access_claims["jti"] not in {id_claims["jti"], access_claims["origin_jti"]}

    info = await sandbox.userinfo(body["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": ALICE.sub,
        "email": "alice@example.com",
        "email_verified": "true",  # a string at userInfo, as Cognito sends it
        "username": "alice",
    }

    clock.advance(600)
    refreshed = await sandbox.refresh(body["refresh_token"])
    assert refreshed.status_code == 200
    renewed = refreshed.json()
    assert "refresh_token" not in renewed
    renewed_id = _verify_id_token(renewed["id_token"], jwks, renewed["access_token"])
    assert "nonce" not in renewed_id
    assert renewed_id["auth_time"] == now
    assert renewed_id["iat"] == now + 600
    assert renewed_id["origin_jti"] == id_claims["origin_jti"]

    revoked = await sandbox.revoke(body["refresh_token"])
    assert revoked.status_code == 200
    assert revoked.content == b""
    refused = await sandbox.refresh(body["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


async def test_openid_configuration_names_every_endpoint_under_the_issuer(
    sandbox: Sandbox,
) -> None:
    response = await sandbox.http.get(f"/{POOL_ID}/.well-known/openid-configuration")

    document = response.json()
    assert response.status_code == 200
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert document["authorization_endpoint"] == "http://hosted-ui.test/oauth2/authorize"
    assert document["token_endpoint"] == "http://hosted-ui.test/oauth2/token"
    assert document["userinfo_endpoint"] == "http://hosted-ui.test/oauth2/userInfo"
    assert document["revocation_endpoint"] == "http://hosted-ui.test/oauth2/revoke"
    assert document["code_challenge_methods_supported"] == ["S256"]


async def test_public_client_exchanges_a_code_with_pkce_alone(sandbox: Sandbox) -> None:
    sign_in = await sandbox.sign_in(client_id=SPA_CLIENT)

    response = await sandbox.exchange(sign_in, auth=None)

    assert response.status_code == 200
    claims = jwt.get_unverified_claims(response.json()["id_token"])
    assert claims["aud"] == SPA_CLIENT


async def test_without_openid_scope_no_id_token_is_issued(sandbox: Sandbox) -> None:
    body = await sandbox.tokens(scope="aws.cognito.signin.user.admin")
    assert "id_token" not in body
    assert (
        jwt.get_unverified_claims(body["access_token"])["scope"] == "aws.cognito.signin.user.admin"
    )


async def test_refresh_token_of_another_client_is_invalid_grant(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()

    response = await sandbox.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": SPA_CLIENT,
        }
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
