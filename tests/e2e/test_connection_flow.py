"""The connection flow end to end: connector <-> Hosted UI stand-in, through HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from support.envelopes import assert_envelope
from support.oauth_world import (
    ALICE,
    CLIENT_SECRET,
    RETURN_URL,
    CognitoWorld,
    Instance,
    make_world,
    query_of,
    world_settings,
)

from connector.errors import ErrorCode, InvalidGrantError
from connector.sandbox.hosted_ui import KeySet


@pytest.fixture(scope="session")
def pool_keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture
async def world(tmp_path: Path, pool_keys: KeySet) -> AsyncIterator[CognitoWorld]:
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'flow.db'}", "memory://", Fernet.generate_key().decode()
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


@pytest.fixture
async def replica(world: CognitoWorld) -> Instance:
    return await world.instance()


def auth(key: str, user: str | None = "alice") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if user is not None:
        headers["X-User-Id"] = user
    return headers


async def test_connect_login_callback_redirects_to_the_app_and_the_connection_is_active(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    start = await world.start(replica, key)
    assert start["authUrl"].startswith("http://cognito.test/oauth2/authorize?")
    assert "code_challenge_method=S256" in start["authUrl"]
    assert (
        await replica.client.get(f"/connect/status/{start['state']}", headers=auth(key, None))
    ).json()["data"] == {"state": start["state"], "status": "pending"}

    back = await world.login(start["authUrl"])
    answer = await replica.client.get(back.removeprefix("http://connector.test"))

    assert answer.status_code == 302
    assert answer.headers["location"].startswith(RETURN_URL + "?")
    assert query_of(answer.headers["location"]) == {"status": "connected", "state": start["state"]}
    assert answer.headers["referrer-policy"] == "no-referrer"
    connection = (await replica.client.get("/connection", headers=auth(key))).json()["data"]
    assert connection["status"] == "active"
    assert connection["email"] == ALICE.email
    assert connection["username"] == "alice"
    assert connection["scopes"] == ["openid", "email", "profile"]
    status = await replica.client.get(f"/connect/status/{start['state']}", headers=auth(key, None))
    assert status.json()["data"]["status"] == "completed"
    assert dict(world.hosted_ui.stats.pkce_methods) == {"S256": 1}


async def test_post_callback_completes_a_flow_for_apps_that_receive_the_code(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    start = await world.start(replica, key)
    code = query_of(await world.login(start["authUrl"]))["code"]
    answer = await replica.client.post(
        "/callback", json={"code": code, "state": start["state"]}, headers=auth(key)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["userId"] == "alice"
    replay = await replica.client.post(
        "/callback", json={"code": code, "state": start["state"]}, headers=auth(key)
    )
    assert_envelope(replay, ErrorCode.INVALID_STATE)


async def test_post_callback_for_another_user_is_invalid_state_and_burns_it(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    start = await world.start(replica, key)
    code = query_of(await world.login(start["authUrl"]))["code"]
    wrong = await replica.client.post(
        "/callback", json={"code": code, "state": start["state"]}, headers=auth(key, "mallory")
    )
    assert_envelope(wrong, ErrorCode.INVALID_STATE)
    right = await replica.client.post(
        "/callback", json={"code": code, "state": start["state"]}, headers=auth(key)
    )
    assert_envelope(right, ErrorCode.INVALID_STATE)
    assert_envelope(
        await replica.client.get("/connection", headers=auth(key)), ErrorCode.NOT_CONNECTED
    )


async def test_unknown_and_reused_states_get_no_redirect(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    start = await world.start(replica, key)
    back = (await world.login(start["authUrl"])).removeprefix("http://connector.test")
    assert (await replica.client.get(back)).status_code == 302
    reused = await replica.client.get(back)
    assert reused.status_code == 400
    assert "location" not in reused.headers
    assert reused.headers["content-type"].startswith("text/html")
    as_json = await replica.client.get(back, headers={"Accept": "application/json"})
    assert_envelope(as_json, ErrorCode.INVALID_STATE)
    unknown = await replica.client.get(
        "/callback?code=x&state=" + "A" * 43, headers={"Accept": "application/json"}
    )
    assert_envelope(unknown, ErrorCode.INVALID_STATE)
    status = await replica.client.get(f"/connect/status/{start['state']}", headers=auth(key, None))
    assert status.json()["data"]["status"] == "completed"  # replays do not change it


async def test_a_tampered_code_redirects_with_callback_failed_and_stores_nothing(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    start = await world.start(replica, key)
    await world.login(start["authUrl"])
    answer = await replica.client.get(f"/callback?code=forged-code&state={start['state']}")
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {
        "error": "CALLBACK_FAILED",
        "state": start["state"],
    }
    assert_envelope(
        await replica.client.get("/connection", headers=auth(key)), ErrorCode.NOT_CONNECTED
    )
    status = await replica.client.get(f"/connect/status/{start['state']}", headers=auth(key, None))
    assert status.json()["data"]["status"] == "failed"


@pytest.mark.parametrize(
    "changes",
    [
        {"overrides": {"aud": "another-client"}},
        {"overrides": {"iss": "http://evil.test/us-east-1_Connect1"}},
        {"nonce": "not-the-flow-nonce"},
        {"key": "foreign"},
        {"overrides": {"exp": 1_000_000_000, "iat": 999_990_000}},
        {"overrides": {"token_use": "access"}},
    ],
    ids=["aud", "iss", "nonce", "signature", "expired", "token_use"],
)
async def test_a_bad_id_token_refuses_the_connection(
    world: CognitoWorld, replica: Instance, changes: dict[str, object]
) -> None:
    key = await world.key(replica)
    world.transport.bend = world.mint_bad_id_token(**changes)
    answer = await world.connect(replica, key)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["error"] == "CALLBACK_FAILED"
    assert_envelope(
        await replica.client.get("/connection", headers=auth(key)), ErrorCode.NOT_CONNECTED
    )


@pytest.mark.parametrize(
    "redirect",
    [
        RETURN_URL + "/",
        "https://APP.example/done",
        "https://app.example:443/done",
        "https://evil.example/done",
    ],
)
async def test_foreign_return_urls_are_refused(
    world: CognitoWorld, replica: Instance, redirect: str
) -> None:
    key = await world.key(replica)
    answer = await replica.client.get(
        "/connect", params={"redirect_uri": redirect}, headers=auth(key)
    )
    assert_envelope(answer, ErrorCode.VALIDATION_ERROR)


async def test_connect_needs_a_key_and_a_user(world: CognitoWorld, replica: Instance) -> None:
    assert_envelope(await replica.client.get("/connect"), ErrorCode.UNAUTHORIZED)
    assert_envelope(
        await replica.client.get("/connect", headers={"Authorization": "Bearer bad"}),
        ErrorCode.UNAUTHORIZED,
    )
    key = await world.key(replica)
    assert_envelope(
        await replica.client.get("/connect", headers=auth(key, None)), ErrorCode.MISSING_USER_ID
    )
    no_scope = await world.key(replica, "s3:read")
    assert_envelope(
        await replica.client.get("/connect", headers=auth(no_scope)), ErrorCode.FORBIDDEN
    )


async def test_a_flow_without_return_url_ends_on_a_page(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    response = await replica.client.get("/connect", headers=auth(key))
    start = response.json()["data"]
    back = (await world.login(start["authUrl"])).removeprefix("http://connector.test")
    page = await replica.client.get(back)
    assert page.status_code == 200
    assert "Connected" in page.text


async def test_disconnect_revokes_at_cognito_and_the_token_no_longer_refreshes(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    await world.connect(replica, key)
    connection = await replica.container.store.get("alice")
    assert connection is not None
    refresh = replica.container.cipher.open(connection.tokens.refresh_token or "")

    answer = await replica.client.post("/disconnect", headers=auth(key))

    assert answer.json()["data"] == {"disconnected": True, "revoked": True}
    assert world.hosted_ui.stats.revocations == 1
    assert_envelope(await replica.client.get("/token", headers=auth(key)), ErrorCode.NOT_CONNECTED)
    provider = replica.container.services.oauth().tokens._provider
    with pytest.raises(InvalidGrantError):
        await provider.refresh(refresh)
    again = await replica.client.post("/disconnect", headers=auth(key))
    assert again.json()["data"] == {"disconnected": True, "revoked": False}


async def test_disconnect_succeeds_locally_when_cognito_is_down(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    await world.connect(replica, key)
    world.hosted_ui.fail_next("revoke", 5)
    answer = await replica.client.post("/disconnect", headers=auth(key))
    assert answer.json()["data"] == {"disconnected": True, "revoked": False}
    assert await replica.container.store.get("alice") is None


async def test_token_is_refreshed_once_for_fifty_concurrent_requests(
    world: CognitoWorld, replica: Instance
) -> None:
    import asyncio  # noqa: PLC0415

    key = await world.key(replica)
    await world.connect(replica, key)
    world.clock.advance(3600)
    answers = await asyncio.gather(
        *(replica.client.get("/token", headers=auth(key)) for _ in range(50))
    )
    assert {a.status_code for a in answers} == {200}
    assert world.hosted_ui.stats.refresh_grants == 1
    assert len({a.json()["data"]["accessToken"] for a in answers}) == 1


async def test_invalid_grant_is_reauth_required_and_refresh_is_not_retried(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    await world.connect(replica, key)
    world.hosted_ui.revoke_user_tokens("alice")
    world.clock.advance(3600)
    for _ in range(3):
        assert_envelope(
            await replica.client.get("/token", headers=auth(key)), ErrorCode.REAUTH_REQUIRED
        )
    assert world.hosted_ui.stats.refresh_grants == 1
    view = (await replica.client.get("/connection", headers=auth(key))).json()["data"]
    assert view["status"] == "reauth_required"
    await world.connect(replica, key)
    assert (await replica.client.get("/token", headers=auth(key))).status_code == 200


async def test_cognito_unreachable_on_refresh_is_upstream_unavailable(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica)
    await world.connect(replica, key)
    world.hosted_ui.fail_next_token_requests(1)
    world.clock.advance(3600)
    answer = await replica.client.get("/token", headers=auth(key))
    assert_envelope(answer, ErrorCode.UPSTREAM_UNAVAILABLE)
    assert "retry-after" in answer.headers
    assert (await replica.client.get("/token", headers=auth(key))).status_code == 200


async def test_no_token_reaches_the_logs_at_debug(
    world: CognitoWorld, replica: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    key = await world.key(replica)
    seen: list[str] = [key, CLIENT_SECRET]
    with caplog.at_level(logging.DEBUG):
        start = await world.start(replica, key)
        back = await world.login(start["authUrl"])
        seen.append(query_of(back)["code"])
        await replica.client.get(back.removeprefix("http://connector.test"))
        first = replica.container.services.connections.open_tokens(
            await replica.container.services.connections.get("alice")
        )
        world.clock.advance(3600)
        token = (await replica.client.get("/token", headers=auth(key))).json()["data"][
            "accessToken"
        ]
        await replica.client.post("/disconnect", headers=auth(key))
    seen += [first.access_token, first.id_token, first.refresh_token or "", token]

    # The test's own HTTP clients (the browser, the caller) log the URLs they request; those
    # lines are not the connector's, so they are left out.
    def from_test_clients(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return record.name.startswith("httpx") and (
            "connector.test" in message or "/login" in message
        )

    connector_records = [r for r in caplog.records if not from_test_clients(r)]
    assert connector_records, "the connector logged nothing at DEBUG: the check would be empty"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in connector_records)
    for secret in seen:
        assert secret
        assert secret not in logged
