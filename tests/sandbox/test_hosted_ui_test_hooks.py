"""The hooks other suites drive the stand-in with: failures, counters, clocks and bad tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError
from support.hosted_ui_harness import ALICE, ISSUER, POOL_ID, WEB_CLIENT, Sandbox

from connector.sandbox.hosted_ui import Endpoint, ManualClock


def _verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, jwks, algorithms=["RS256"], audience=WEB_CLIENT, issuer=ISSUER
    )
    return claims


async def test_next_token_requests_fail_with_503_then_recover(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()
    sandbox.hosted_ui.fail_next_token_requests(2)

    first = await sandbox.refresh(body["refresh_token"])
    second = await sandbox.refresh(body["refresh_token"])
    third = await sandbox.refresh(body["refresh_token"])

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.text == "Service Unavailable"
    assert sandbox.hosted_ui.stats.injected_failures == 2
    assert sandbox.hosted_ui.stats.refresh_grants == 3


async def test_injected_oauth_error_is_answered_as_json(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()
    sandbox.hosted_ui.fail_next_token_requests(status=400, error="invalid_grant")

    refused = await sandbox.refresh(body["refresh_token"])

    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant"}
    assert (await sandbox.refresh(body["refresh_token"])).status_code == 200


@pytest.mark.parametrize("endpoint", ["revoke", "userinfo", "jwks"])
async def test_other_endpoints_can_be_made_to_fail(sandbox: Sandbox, endpoint: Endpoint) -> None:
    body = await sandbox.tokens()
    sandbox.hosted_ui.fail_next(endpoint, status=502)

    async def call() -> httpx.Response:
        if endpoint == "revoke":
            return await sandbox.revoke(body["refresh_token"])
        if endpoint == "userinfo":
            return await sandbox.userinfo(body["access_token"])
        return await sandbox.http.get(f"/{POOL_ID}/.well-known/jwks.json")

    assert (await call()).status_code == 502
    assert (await call()).status_code == 200


async def test_counters_track_each_endpoint_and_grant(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()
    await sandbox.refresh(body["refresh_token"])
    await sandbox.refresh("unknown")
    await sandbox.userinfo(body["access_token"])
    await sandbox.revoke(body["refresh_token"])
    await sandbox.jwks()

    stats = sandbox.hosted_ui.stats
    assert (stats.authorize, stats.login_attempts) == (1, 1)
    assert (stats.code_grants, stats.refresh_grants) == (1, 2)
    assert (stats.token_requests, stats.tokens_issued, stats.token_errors) == (3, 2, 1)
    assert (stats.userinfo, stats.revocations, stats.jwks) == (1, 1, 1)

    served = (await sandbox.http.get("/_sandbox/stats")).json()
    assert served["refresh_grants"] == 2
    assert served["pkce_methods"] == {"S256": 1}

    stats.reset()
    assert stats.refresh_grants == 0
    assert stats.pkce_methods == {}


async def test_clock_can_be_replaced_at_runtime(sandbox: Sandbox, clock: ManualClock) -> None:
    body = await sandbox.tokens()
    later = ManualClock(clock() + 7200)

    sandbox.hosted_ui.set_clock(later)

    assert (await sandbox.userinfo(body["access_token"])).status_code == 401


async def test_minted_id_token_verifies_like_an_issued_one(sandbox: Sandbox) -> None:
    token = sandbox.hosted_ui.mint_id_token("alice", nonce="n-9")

    claims = _verify(token, await sandbox.jwks())

    assert claims["sub"] == ALICE.sub
    assert claims["nonce"] == "n-9"
    assert claims["token_use"] == "id"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"aud": "someone-else"}, JWTClaimsError),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}, JWTClaimsError),
        ({"exp": 1_000_000_000}, ExpiredSignatureError),
    ],
)
async def test_minted_id_token_overrides_break_verification(
    sandbox: Sandbox, overrides: dict[str, Any], error: type[Exception]
) -> None:
    token = sandbox.hosted_ui.mint_id_token(overrides=overrides)

    with pytest.raises(error):
        _verify(token, await sandbox.jwks())


async def test_minted_id_token_with_a_foreign_key_has_a_bad_signature(sandbox: Sandbox) -> None:
    token = sandbox.hosted_ui.mint_id_token(key="foreign")
    jwks = await sandbox.jwks()

    assert jwt.get_unverified_header(token)["kid"] in {key["kid"] for key in jwks["keys"]}
    with pytest.raises(JWTError, match="Signature verification failed"):
        _verify(token, jwks)


async def test_minted_id_token_can_name_an_unpublished_kid(sandbox: Sandbox) -> None:
    token = sandbox.hosted_ui.mint_id_token(kid="rotated-away")
    assert jwt.get_unverified_header(token)["kid"] == "rotated-away"


async def test_minted_id_token_can_drop_and_bend_claims(sandbox: Sandbox) -> None:
    token = sandbox.hosted_ui.mint_id_token(
        nonce="expected", overrides={"nonce": "replayed", "token_use": "access"}, omit=("email",)
    )

    claims = _verify(token, await sandbox.jwks())

    assert claims["nonce"] == "replayed"
    assert claims["token_use"] == "access"
    assert "email" not in claims


async def test_minted_id_token_with_access_token_carries_a_matching_at_hash(
    sandbox: Sandbox,
) -> None:
    access = sandbox.hosted_ui.mint_access_token()
    token = sandbox.hosted_ui.mint_id_token(access_token=access)

    claims: dict[str, Any] = jwt.decode(
        token, await sandbox.jwks(), audience=WEB_CLIENT, issuer=ISSUER, access_token=access
    )

    assert "at_hash" in claims
