"""The account-linking attack and its defences, over HTTP: connector <-> Hosted UI stand-in.

Mallory starts a flow for her own app user and gets a victim (who has a live Cognito session,
or is tricked into signing in) to open the authUrl. Without identity binding, the victim's
Cognito identity and AWS credentials end up under mallory's user id. With `confirm` and
`claim:` binding, nothing is stored for mallory and the victim's sign-in is revoked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from support.envelopes import assert_envelope
from support.oauth_world import (
    ALICE,
    RETURN_URL,
    CognitoWorld,
    Instance,
    make_world,
    query_of,
    world_settings,
)

from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet

ALL_SCOPES = ("connect", "connection:read", "credentials:read", "token:read")


async def binding_world(
    stack: AsyncExitStack, tmp_path: Path, keys: KeySet, aws: dict[str, Any], binding: str
) -> CognitoWorld:
    database = tmp_path / f"binding-{binding.replace(':', '-')}.db"
    settings = world_settings(
        f"sqlite+aiosqlite:///{database}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_IDENTITY_BINDING=binding,
    )
    return make_world(stack, keys, settings)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


def as_app(key: str, user: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if user is not None:
        headers["X-User-Id"] = user
    return headers


async def victim_signs_in_with(world: CognitoWorld, replica: Instance, auth_url: str) -> str:
    """A second, cookie-less browser opens mallory's link and signs in as ALICE; returns where
    the connector then sends that browser (the app's return URL)."""
    back = urlsplit(await world.login(auth_url, ALICE))
    answer = await replica.client.get(f"{back.path}?{back.query}")
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(RETURN_URL + "?")
    assert answer.headers["referrer-policy"] == "no-referrer"
    return location


async def assert_nothing_for_mallory(replica: Instance, key: str) -> None:
    for path in ("/connection", "/credentials", "/token"):
        answer = await replica.client.get(path, headers=as_app(key, "mallory"))
        assert_envelope(answer, ErrorCode.NOT_CONNECTED)


async def test_confirm_mode_defeats_the_account_linking_attack(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    start = await world.start(replica, key, "mallory")

    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))
    assert set(back) == {"status", "state", "confirmation"}
    assert back["status"] == "pending"
    status = await replica.client.get(
        f"/connect/status/{start['state']}", headers=as_app(key, None)
    )
    assert status.json()["data"]["status"] == "pending_confirmation"

    # The victim's browser lands on the app, whose session is the victim's own app user.
    refused = await replica.client.post(
        "/connect/confirm",
        json={"confirmation": back["confirmation"]},
        headers=as_app(key, "alice"),
    )

    body = assert_envelope(refused, ErrorCode.IDENTITY_MISMATCH, 409)
    assert ALICE.email not in refused.text
    assert "alice" not in body.error
    await assert_nothing_for_mallory(replica, key)
    assert world.hosted_ui.stats.revocations == 1
    status = await replica.client.get(
        f"/connect/status/{start['state']}", headers=as_app(key, None)
    )
    assert status.json()["data"]["status"] == "failed"
    # Mallory cannot pick the confirmation up afterwards either: it was consumed.
    replay = await replica.client.post(
        "/connect/confirm",
        json={"confirmation": back["confirmation"]},
        headers=as_app(key, "mallory"),
    )
    assert_envelope(replay, ErrorCode.INVALID_STATE)
    await assert_nothing_for_mallory(replica, key)


@pytest.mark.parametrize("claim", ["sub", "cognito:username", "email"])
async def test_claim_mode_defeats_the_account_linking_attack(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any], claim: str
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, f"claim:{claim}")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    start = await world.start(replica, key, "mallory")

    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))

    assert back == {
        "error": "IDENTITY_MISMATCH",
        "reason": "claim_mismatch",
        "state": start["state"],
    }
    await assert_nothing_for_mallory(replica, key)
    assert world.hosted_ui.stats.revocations == 1


async def test_claim_mode_connects_the_user_whose_id_is_the_claim(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "claim:email")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    start = await world.start(replica, key, ALICE.email)
    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))
    assert back == {"status": "connected", "state": start["state"]}
    view = await replica.client.get("/connection", headers=as_app(key, ALICE.email))
    assert view.json()["data"]["username"] == "alice"


async def test_confirm_mode_connects_the_right_user_and_shows_who_signed_in(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    start = await world.start(replica, key, "alice", loginHint="alice")
    assert "login_hint=alice" in start["authUrl"]
    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))

    confirmed = await replica.client.post(
        "/connect/confirm",
        json={"confirmation": back["confirmation"]},
        headers=as_app(key, "alice"),
    )

    assert confirmed.status_code == 200, confirmed.text
    view = confirmed.json()["data"]
    assert (view["userId"], view["username"], view["email"]) == ("alice", "alice", ALICE.email)
    credentials = await replica.client.get("/credentials", headers=as_app(key, "alice"))
    assert credentials.status_code == 200, credentials.text
    assert world.hosted_ui.stats.revocations == 0


async def test_confirm_refuses_another_key_and_reject_revokes(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key, other = await world.key(replica, *ALL_SCOPES), await world.key(replica, *ALL_SCOPES)

    start = await world.start(replica, key, "alice")
    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))
    wrong_key = await replica.client.post(
        "/connect/confirm",
        json={"confirmation": back["confirmation"]},
        headers=as_app(other, "alice"),
    )
    assert_envelope(wrong_key, ErrorCode.INVALID_STATE)
    assert world.hosted_ui.stats.revocations == 1

    start = await world.start(replica, key, "alice")
    back = query_of(await victim_signs_in_with(world, replica, start["authUrl"]))
    rejected = await replica.client.post(
        "/connect/reject", json={"confirmation": back["confirmation"]}, headers=as_app(key, None)
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["data"] == {"rejected": True}
    assert world.hosted_ui.stats.revocations == 2
    again = await replica.client.post(
        "/connect/reject", json={"confirmation": back["confirmation"]}, headers=as_app(key, None)
    )
    assert_envelope(again, ErrorCode.INVALID_STATE)
    assert_envelope(
        await replica.client.get("/connection", headers=as_app(key, "alice")),
        ErrorCode.NOT_CONNECTED,
    )


async def test_confirm_mode_needs_a_return_url(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    answer = await replica.client.get("/connect", headers=as_app(key, "alice"))
    body = assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
    assert "CONNECTOR_IDENTITY_BINDING=confirm" in body.error


async def test_a_cancelled_sign_in_returns_access_denied_as_the_reason(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    start = await world.start(replica, key, "alice")
    # What Cognito sends the browser back with when the user cancels at the Hosted UI.
    answer = await replica.client.get(
        "/callback", params={"error": "access_denied", "state": start["state"]}
    )
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {
        "error": "CALLBACK_FAILED",
        "reason": "access_denied",
        "state": start["state"],
    }


async def test_reconnecting_as_another_cognito_account_needs_replace(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    from support.oauth_world import BOB  # noqa: PLC0415 - only this test signs in as bob

    world = await binding_world(stack, tmp_path, pool_keys, aws, "none")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)
    assert (await world.connect(replica, key, "alice", ALICE)).status_code == 302

    refused = await world.connect(replica, key, "alice", BOB)
    assert query_of(refused.headers["location"])["error"] == "IDENTITY_MISMATCH"
    view = (await replica.client.get("/connection", headers=as_app(key, "alice"))).json()["data"]
    assert view["username"] == "alice"
    assert world.hosted_ui.stats.revocations == 1  # bob's unused sign-in

    start = await world.start(replica, key, "alice", replace="true")
    back = urlsplit(await world.login(start["authUrl"], BOB))
    replaced = await replica.client.get(f"{back.path}?{back.query}")
    assert query_of(replaced.headers["location"])["status"] == "connected"
    view = (await replica.client.get("/connection", headers=as_app(key, "alice"))).json()["data"]
    assert view["username"] == "bob"
    assert world.hosted_ui.stats.revocations == 2  # alice's old refresh token


async def test_rpc_confirm_and_reject(
    stack: AsyncExitStack, tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    world = await binding_world(stack, tmp_path, pool_keys, aws, "confirm")
    replica = await world.instance()
    key = await world.key(replica, *ALL_SCOPES)

    async def rpc(method: str, **params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer = await replica.client.post("/rpc", json=body, headers=as_app(key, None))
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["result"]
        return result

    started = await rpc("connect", userId="mallory", redirectUri=RETURN_URL)
    back = query_of(await victim_signs_in_with(world, replica, started["data"]["authUrl"]))
    mismatch = await rpc("confirmConnect", userId="alice", confirmation=back["confirmation"])
    assert mismatch["code"] == "IDENTITY_MISMATCH"

    started = await rpc("connect", userId="alice", redirectUri=RETURN_URL)
    back = query_of(await victim_signs_in_with(world, replica, started["data"]["authUrl"]))
    assert (await rpc("rejectConnect", confirmation=back["confirmation"]))["data"] == {
        "rejected": True
    }

    started = await rpc("connect", userId="alice", redirectUri=RETURN_URL)
    back = query_of(await victim_signs_in_with(world, replica, started["data"]["authUrl"]))
    confirmed = await rpc("confirmConnect", userId="alice", confirmation=back["confirmation"])
    assert confirmed["data"]["username"] == "alice"
    assert world.hosted_ui.stats.revocations == 2
