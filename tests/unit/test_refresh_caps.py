"""CONNECTOR_ADVISORY_REFRESH_CAP and CONNECTOR_MANDATORY_REFRESH_CAP, from the environment to the
moment GET /token refreshes (the Hosted UI stand-in in-process counts the refresh grants)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from support.oauth_world import CognitoWorld, Instance, make_world, world_settings

from connector.sandbox.hosted_ui import KeySet

LIFETIME = 3600  # the stand-in's access tokens; by default the windows open 900 s and 600 s
# before expiry (a quarter and a sixth of the lifetime, capped at 15 and 10 minutes)
CAPS = {"CONNECTOR_ADVISORY_REFRESH_CAP": "120", "CONNECTOR_MANDATORY_REFRESH_CAP": "60"}


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return KeySet.generate()


async def _connected(
    stack: AsyncExitStack, keys: KeySet, tmp_path: Path, env: dict[str, str]
) -> tuple[CognitoWorld, Instance, dict[str, str]]:
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'caps.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        **env,
    )
    world = make_world(stack, keys, settings)
    replica = await world.instance()
    key = await world.key(replica)
    await world.connect(replica, key)
    return world, replica, {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def _token(replica: Instance, headers: dict[str, str]) -> str:
    answer = await replica.client.get("/token", headers=headers)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["data"]["accessToken"]
    return token


@pytest.mark.parametrize(
    ("env", "refreshes"),
    [({}, 1), (CAPS, 0)],
    ids=["default caps: 500 s left is mandatory", "caps of 120/60 s: 500 s left is fresh"],
)
async def test_the_caps_decide_whether_a_token_with_500_s_left_is_refreshed(
    stack: AsyncExitStack, keys: KeySet, tmp_path: Path, env: dict[str, str], refreshes: int
) -> None:
    world, replica, headers = await _connected(stack, keys, tmp_path, env)
    world.clock.advance(LIFETIME - 500)

    await _token(replica, headers)
    await asyncio.sleep(0.05)  # an advisory refresh would run in the background

    assert world.hosted_ui.stats.refresh_grants == refreshes


async def test_with_caps_the_advisory_window_serves_the_old_token_and_refreshes_behind_it(
    stack: AsyncExitStack, keys: KeySet, tmp_path: Path
) -> None:
    world, replica, headers = await _connected(stack, keys, tmp_path, CAPS)
    first = await _token(replica, headers)

    world.clock.advance(LIFETIME - 90)  # inside 120 s, outside 60 s: advisory
    served = await _token(replica, headers)
    for _ in range(100):  # the background refresh lands
        if world.hosted_ui.stats.refresh_grants:
            break
        await asyncio.sleep(0.01)

    assert served == first
    assert world.hosted_ui.stats.refresh_grants == 1
    # The stand-in counts the grant before the connector has stored its answer: on a loaded
    # machine the new token lands a moment after the count.
    async with asyncio.timeout(5):
        while await _token(replica, headers) == first:  # noqa: ASYNC110 - polls over HTTP
            await asyncio.sleep(0.01)
    assert world.hosted_ui.stats.refresh_grants == 1


async def test_with_caps_the_mandatory_window_waits_for_a_new_token(
    stack: AsyncExitStack, keys: KeySet, tmp_path: Path
) -> None:
    world, replica, headers = await _connected(stack, keys, tmp_path, CAPS)
    first = await _token(replica, headers)

    world.clock.advance(LIFETIME - 30)  # inside 60 s: mandatory

    assert await _token(replica, headers) != first
    assert world.hosted_ui.stats.refresh_grants == 1
