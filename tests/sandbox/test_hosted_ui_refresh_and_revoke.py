"""Refresh (with and without rotation), expiry on the injected clock, revocation and userInfo."""

from __future__ import annotations

import asyncio

import pytest
from jose import jwt
from support.hosted_ui_harness import SPA_CLIENT, WEB_CLIENT, Sandbox, SandboxFactory

from connector.sandbox.hosted_ui import InMemoryUserDirectory, ManualClock


async def test_without_rotation_the_same_refresh_token_keeps_working(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()

    first = await sandbox.refresh(body["refresh_token"])
    second = await sandbox.refresh(body["refresh_token"])

    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.json()
    assert first.json()["access_token"] != second.json()["access_token"]


async def test_with_rotation_a_refresh_returns_a_new_token_and_retires_the_old(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(rotate_refresh_tokens=True)
    body = await sandbox.tokens()

    rotated = await sandbox.refresh(body["refresh_token"])
    old_again = await sandbox.refresh(body["refresh_token"])
    new_token = rotated.json()["refresh_token"]
    with_new = await sandbox.refresh(new_token)

    assert rotated.status_code == 200
    assert new_token != body["refresh_token"]
    assert old_again.status_code == 400
    assert old_again.json()["error"] == "invalid_grant"
    assert with_new.status_code == 200


async def test_rotation_grace_period_lets_a_retry_through_then_closes(
    make_sandbox: SandboxFactory, clock: ManualClock
) -> None:
    sandbox = await make_sandbox(rotate_refresh_tokens=True, rotation_grace_seconds=30)
    body = await sandbox.tokens()
    await sandbox.refresh(body["refresh_token"])

    clock.advance(29)
    retry = await sandbox.refresh(body["refresh_token"])
    clock.advance(1)
    late = await sandbox.refresh(body["refresh_token"])

    assert retry.status_code == 200
    assert late.status_code == 400


async def test_concurrent_refreshes_of_one_rotating_token_let_exactly_one_win(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(rotate_refresh_tokens=True)
    body = await sandbox.tokens()

    answers = await asyncio.gather(*(sandbox.refresh(body["refresh_token"]) for _ in range(5)))

    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400]
    assert sandbox.hosted_ui.stats.refresh_grants == 5


async def test_refresh_token_expires_after_thirty_days(
    sandbox: Sandbox, clock: ManualClock
) -> None:
    body = await sandbox.tokens()
    clock.advance(30 * 86_400 - 1)
    still_valid = await sandbox.refresh(body["refresh_token"])
    clock.advance(1)

    expired = await sandbox.refresh(body["refresh_token"])

    assert still_valid.status_code == 200
    assert expired.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token is invalid, expired or revoked.",
    }


async def test_configured_lifetimes_shape_expiry(
    make_sandbox: SandboxFactory, clock: ManualClock
) -> None:
    sandbox = await make_sandbox(access_token_ttl=300, id_token_ttl=600)
    body = await sandbox.tokens()

    assert body["expires_in"] == 300
    assert jwt.get_unverified_claims(body["id_token"])["exp"] == int(clock()) + 600
    clock.advance(300)
    assert (await sandbox.userinfo(body["access_token"])).status_code == 401


async def test_access_token_expires_at_userinfo_on_the_injected_clock(
    sandbox: Sandbox, clock: ManualClock
) -> None:
    body = await sandbox.tokens()
    clock.advance(3599)
    alive = await sandbox.userinfo(body["access_token"])
    clock.advance(1)

    expired = await sandbox.userinfo(body["access_token"])

    assert alive.status_code == 200
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"


async def test_revoking_a_refresh_token_kills_its_access_tokens_but_no_others(
    sandbox: Sandbox,
) -> None:
    revoked_sign_in = await sandbox.tokens()
    other_sign_in = await sandbox.tokens()
    refreshed = (await sandbox.refresh(revoked_sign_in["refresh_token"])).json()

    response = await sandbox.revoke(revoked_sign_in["refresh_token"])

    assert response.status_code == 200
    for access in (revoked_sign_in["access_token"], refreshed["access_token"]):
        answer = await sandbox.userinfo(access)
        assert answer.status_code == 401
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert (await sandbox.userinfo(other_sign_in["access_token"])).status_code == 200
    assert (await sandbox.refresh(other_sign_in["refresh_token"])).status_code == 200


async def test_revoking_a_rotated_token_revokes_its_successors(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox(rotate_refresh_tokens=True, rotation_grace_seconds=60)
    body = await sandbox.tokens()
    successor = (await sandbox.refresh(body["refresh_token"])).json()["refresh_token"]

    await sandbox.revoke(body["refresh_token"])

    assert (await sandbox.refresh(successor)).json()["error"] == "invalid_grant"


async def test_revoke_user_tokens_hook_signs_the_user_out_everywhere(sandbox: Sandbox) -> None:
    first, second = await sandbox.tokens(), await sandbox.tokens()

    assert sandbox.hosted_ui.revoke_user_tokens("alice") == 2

    for body in (first, second):
        assert (await sandbox.refresh(body["refresh_token"])).status_code == 400
        assert (await sandbox.userinfo(body["access_token"])).status_code == 401


async def test_revoking_an_unknown_token_is_still_200(sandbox: Sandbox) -> None:
    response = await sandbox.revoke("not-a-token-we-issued")
    assert response.status_code == 200
    assert response.content == b""


async def test_revoking_another_clients_token_changes_nothing(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()

    response = await sandbox.http.post(
        "/oauth2/revoke", data={"token": body["refresh_token"], "client_id": SPA_CLIENT}
    )

    assert response.status_code == 200
    assert (await sandbox.refresh(body["refresh_token"])).status_code == 200


@pytest.mark.parametrize(
    ("auth", "status", "error"),
    [
        ((WEB_CLIENT, "wrong"), 401, "invalid_client"),
        (None, 401, "invalid_client"),
    ],
)
async def test_revoke_with_bad_client_credentials_is_refused(
    sandbox: Sandbox, auth: tuple[str, str] | None, status: int, error: str
) -> None:
    body = await sandbox.tokens()

    response = await sandbox.revoke(body["refresh_token"], auth=auth)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert (await sandbox.refresh(body["refresh_token"])).status_code == 200


async def test_revoke_without_a_token_is_invalid_request(sandbox: Sandbox) -> None:
    response = await sandbox.http.post(
        "/oauth2/revoke", data={}, auth=(WEB_CLIENT, "web-secret-value")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_revoking_an_access_token_is_unsupported_token_type(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()
    response = await sandbox.revoke(body["access_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_token_type"


async def test_refresh_for_a_deleted_user_is_invalid_grant(sandbox: Sandbox) -> None:
    body = await sandbox.tokens()
    directory = sandbox.hosted_ui.directory
    assert isinstance(directory, InMemoryUserDirectory)

    directory.remove("alice")

    assert (await sandbox.refresh(body["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await sandbox.userinfo(body["access_token"])).status_code == 401


async def test_userinfo_without_a_bearer_token_is_400(sandbox: Sandbox) -> None:
    response = await sandbox.http.get("/oauth2/userInfo")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("kind", ["garbage", "id_token", "foreign", "wrong_issuer"])
async def test_userinfo_refuses_tokens_that_are_not_live_access_tokens(
    sandbox: Sandbox, kind: str
) -> None:
    hosted_ui = sandbox.hosted_ui
    token = {
        "garbage": "not.a.jwt",
        "id_token": hosted_ui.mint_id_token("alice"),
        "foreign": hosted_ui.mint_access_token("alice", key="foreign"),
        "wrong_issuer": hosted_ui.mint_access_token("alice", overrides={"iss": "http://evil"}),
    }[kind]

    response = await sandbox.userinfo(token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


async def test_minted_access_token_is_accepted_at_userinfo(sandbox: Sandbox) -> None:
    response = await sandbox.userinfo(sandbox.hosted_ui.mint_access_token("alice"))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


async def test_only_revocations_that_end_a_live_sign_in_are_counted(sandbox: Sandbox) -> None:
    first, second = await sandbox.tokens(), await sandbox.tokens()

    await sandbox.revoke(first["refresh_token"])
    await sandbox.revoke(first["refresh_token"])
    await sandbox.revoke("unknown-token")
    await sandbox.revoke(second["refresh_token"])

    assert sandbox.hosted_ui.stats.revocations == 4
    assert sandbox.hosted_ui.stats.sign_ins_revoked == 2
    assert (await sandbox.http.get("/_sandbox/stats")).json()["sign_ins_revoked"] == 2
