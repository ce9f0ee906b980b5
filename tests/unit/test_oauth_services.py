"""The flow, token freshness and disconnect services, over honest fakes and a fixed clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from support.fake_world import KEY_ID, FakeOAuthWorld, make_fake_oauth_world

from connector.domain.models import ConnectionStatus
from connector.domain.oauth import FlowStatus
from connector.errors import (
    ErrorCode,
    InternalError,
    InvalidStateError,
    NotConnectedError,
    ReauthRequiredError,
    UpstreamUnavailableError,
    ValidationError,
)
from connector.services.disconnect import DisconnectService

RETURN = "https://app.example/done"


@dataclass
class World(FakeOAuthWorld):
    disconnect: DisconnectService


def make_world(*, rotate: bool = False) -> World:
    base = make_fake_oauth_world(rotate=rotate, return_url=RETURN)
    return World(**vars(base), disconnect=DisconnectService(base.connections, base.provider))


@pytest.fixture
def world() -> World:
    return make_world()


async def test_a_completed_flow_stores_sealed_tokens_and_reads_completed(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    assert await world.flow.status(start.state) is FlowStatus.PENDING
    code = world.provider.authorize(start.state)

    outcome = await world.flow.finish_in_browser(start.state, code=code)

    assert outcome.redirect_uri == RETURN
    assert outcome.connection is not None
    stored = world.store.rows["alice"]
    assert stored.sub == "sub-1"
    assert stored.status is ConnectionStatus.ACTIVE
    assert "sub-1" not in stored.tokens.refresh_token  # type: ignore[operator]
    assert world.cipher.open(stored.tokens.refresh_token or "").startswith("refresh-")
    assert await world.flow.status(start.state) is FlowStatus.COMPLETED


async def test_a_state_is_single_use_even_under_concurrent_callbacks(world: World) -> None:
    start = await world.flow.start("alice", None, key_id=KEY_ID)
    code = world.provider.authorize(start.state)
    results = await asyncio.gather(
        *(world.flow.finish_in_browser(start.state, code=code) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InvalidStateError) for r in results if isinstance(r, Exception))
    assert await world.flow.status(start.state) is FlowStatus.COMPLETED


@pytest.mark.parametrize(
    "redirect",
    [
        RETURN + "/",
        "https://APP.example/done",
        "https://app.example:443/done",
        "https://evil.example/",
    ],
)
async def test_return_urls_must_match_the_allow_list_exactly(world: World, redirect: str) -> None:
    with pytest.raises(ValidationError):
        await world.flow.start("alice", redirect, key_id=KEY_ID)


async def test_an_expired_state_is_invalid(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    code = world.provider.authorize(start.state)
    world.clock.advance(601)
    with pytest.raises(InvalidStateError):
        await world.flow.finish_in_browser(start.state, code=code)
    assert world.store.rows == {}


@pytest.mark.parametrize("state", ["", "short", "x" * 43 + "<", "../../etc"])
async def test_malformed_states_are_invalid(world: World, state: str) -> None:
    with pytest.raises(InvalidStateError):
        await world.flow.finish_in_browser(state, code="c")
    assert await world.flow.status(state) is FlowStatus.EXPIRED


async def test_a_tampered_code_fails_burns_the_state_and_stores_nothing(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    world.provider.authorize(start.state)
    outcome = await world.flow.finish_in_browser(start.state, code="code-forged")
    assert outcome.error is not None
    assert outcome.error.error_code is ErrorCode.CALLBACK_FAILED
    assert outcome.redirect_uri == RETURN
    assert world.store.rows == {}
    assert await world.flow.status(start.state) is FlowStatus.FAILED
    with pytest.raises(InvalidStateError):
        await world.flow.finish_in_browser(start.state, code="code-1")


async def test_a_wrong_nonce_refuses_the_connection(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    code = world.provider.authorize(start.state)
    world.provider.nonces[start.state] = "someone-elses-nonce"
    outcome = await world.flow.finish_in_browser(start.state, code=code)
    assert outcome.error is not None
    assert outcome.error.error_code is ErrorCode.CALLBACK_FAILED
    assert world.store.rows == {}


async def test_a_state_presented_for_another_user_is_invalid_and_burned(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    code = world.provider.authorize(start.state)
    with pytest.raises(InvalidStateError):
        await world.flow.complete(start.state, code=code, key_id=KEY_ID, user_id="mallory")
    assert world.store.rows == {}
    with pytest.raises(InvalidStateError):
        await world.flow.complete(start.state, code=code, key_id=KEY_ID, user_id="alice")


async def test_cognito_error_on_the_callback_fails_the_flow(world: World) -> None:
    start = await world.flow.start("alice", RETURN, key_id=KEY_ID)
    outcome = await world.flow.finish_in_browser(
        start.state, code=None, upstream_error="access_denied"
    )
    assert outcome.error is not None
    assert outcome.error.details["upstreamCode"] == "access_denied"
    assert await world.flow.status(start.state) is FlowStatus.FAILED


async def test_flows_need_the_cache_and_say_so(world: World) -> None:
    world.cache.down = True
    with pytest.raises(UpstreamUnavailableError):
        await world.flow.start("alice", RETURN, key_id=KEY_ID)


async def test_reconnecting_keeps_created_at_and_clears_reauth_required(world: World) -> None:
    await world.connect()
    first = world.store.rows["alice"]
    await world.connections.mark_reauth_required(first)
    world.clock.advance(60)
    await world.connect()
    second = world.store.rows["alice"]
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert second.status is ConnectionStatus.ACTIVE
    assert second.tokens != first.tokens


async def test_fresh_tokens_are_served_without_refresh(world: World) -> None:
    await world.connect()
    tokens = await world.tokens.get_tokens("alice")
    assert tokens.refresh_token is not None
    assert world.provider.refresh_calls == 0


async def test_in_the_advisory_window_the_old_token_is_served_and_one_refresh_runs(
    world: World,
) -> None:
    await world.connect()
    before = world.store.rows["alice"]
    world.clock.advance(3600 - 800)  # 13 minutes left: advisory (15), not mandatory (10)
    tokens = await world.tokens.get_tokens("alice")
    assert tokens.access_token == world.cipher.open(before.tokens.access_token)
    await asyncio.sleep(0.01)
    assert world.provider.refresh_calls == 1
    assert world.store.rows["alice"].version == before.version + 1


async def test_fifty_concurrent_requests_in_the_mandatory_window_refresh_once(world: World) -> None:
    await world.connect()
    world.clock.advance(3600 - 60)
    world.provider.refresh_delay = 0.01
    results = await asyncio.gather(*(world.tokens.get_tokens("alice") for _ in range(50)))
    assert world.provider.refresh_calls == 1
    assert len({r.access_token for r in results}) == 1
    assert world.store.rows["alice"].last_refreshed_at == world.clock.now()


async def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(world: World) -> None:
    await world.connect()
    old = world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "")
    world.clock.advance(3590)
    await world.tokens.get_tokens("alice")
    assert world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "") == old


async def test_with_rotation_the_new_refresh_token_is_stored() -> None:
    world = make_world(rotate=True)
    await world.connect()
    old = world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "")
    world.clock.advance(3590)
    await world.tokens.get_tokens("alice")
    new = world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "")
    assert new != old
    assert new in world.provider.refresh_tokens


async def test_invalid_grant_marks_reauth_required_and_stops_refreshing(world: World) -> None:
    await world.connect()
    world.provider.refresh_tokens.clear()  # Cognito no longer knows the token
    world.clock.advance(3590)
    with pytest.raises(ReauthRequiredError):
        await world.tokens.get_tokens("alice")
    assert world.store.rows["alice"].status is ConnectionStatus.REAUTH_REQUIRED
    for _ in range(3):
        with pytest.raises(ReauthRequiredError):
            await world.tokens.get_tokens("alice")
    assert world.provider.refresh_calls == 1
    await world.connect()  # reconnecting heals it
    assert (await world.tokens.get_tokens("alice")).access_token


async def test_a_refresh_survives_a_cache_outage(world: World) -> None:
    await world.connect()
    world.cache.down = True
    world.clock.advance(3590)
    assert (await world.tokens.get_tokens("alice")).access_token
    assert world.provider.refresh_calls == 1


async def test_disconnect_revokes_deletes_and_is_idempotent(world: World) -> None:
    await world.connect()
    refresh = world.cipher.open(world.store.rows["alice"].tokens.refresh_token or "")
    first = await world.disconnect.disconnect("alice")
    assert (first.disconnected, first.revoked) == (True, True)
    assert world.provider.revoked == [refresh]
    assert "alice" not in world.store.rows
    assert "conn:alice" not in world.cache.data
    second = await world.disconnect.disconnect("alice")
    assert (second.disconnected, second.revoked) == (True, False)
    with pytest.raises(NotConnectedError):
        await world.tokens.get_tokens("alice")


async def test_disconnect_deletes_a_record_it_cannot_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.connect()

    async def unreadable(user_id: str, provider: str = "default") -> None:
        raise InternalError(f"the stored connection of {user_id!r} is not valid JSON")

    monkeypatch.setattr(world.store, "get", unreadable)
    result = await world.disconnect.disconnect("alice")
    assert (result.disconnected, result.revoked) == (True, False)  # nothing to revoke with
    assert "alice" not in world.store.rows
    assert world.provider.revoked == []


async def test_disconnect_succeeds_locally_when_cognito_is_unreachable(world: World) -> None:
    await world.connect()
    world.provider.fail_with = UpstreamUnavailableError("down")
    result = await world.disconnect.disconnect("alice")
    assert (result.disconnected, result.revoked) == (True, False)
    assert "alice" not in world.store.rows
