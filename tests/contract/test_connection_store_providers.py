"""The ConnectionStore contract with two providers: connections keyed by (user id, provider),
run against every adapter (conftest.py)."""

from __future__ import annotations

import msgspec
import pytest
from test_connection_store import make_connection

from connector.domain.ports import ConnectionStore
from connector.errors import VersionConflictError

ACME, GLOBEX = "acme", "globex"


async def test_one_user_holds_a_connection_per_provider(connection_store: ConnectionStore) -> None:
    acme = await connection_store.put(
        make_connection("alice", provider=ACME, sub="sub-acme"), expected_version=None
    )
    globex = await connection_store.put(
        make_connection("alice", provider=GLOBEX, sub="sub-globex"), expected_version=None
    )
    assert (acme.version, globex.version) == (1, 1)
    assert await connection_store.get("alice", ACME) == acme
    assert await connection_store.get("alice", GLOBEX) == globex
    assert await connection_store.get("alice") is None  # nothing with the default provider


async def test_the_default_provider_is_what_no_provider_means(
    connection_store: ConnectionStore,
) -> None:
    stored = await connection_store.put(make_connection("alice"), expected_version=None)
    assert stored.provider == "default"
    assert await connection_store.get("alice", "default") == stored
    assert await connection_store.get("alice") == stored
    assert await connection_store.get("alice", ACME) is None


async def test_creating_conflicts_only_within_one_provider(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("alice", provider=ACME), expected_version=None)
    with pytest.raises(VersionConflictError):
        await connection_store.put(
            make_connection("alice", provider=ACME, sub="other"), expected_version=None
        )
    await connection_store.put(make_connection("alice", provider=GLOBEX), expected_version=None)
    acme = await connection_store.get("alice", ACME)
    assert acme is not None
    assert acme.sub == "sub-alice"


async def test_a_replace_checks_and_bumps_the_version_of_its_own_provider(
    connection_store: ConnectionStore,
) -> None:
    acme = await connection_store.put(
        make_connection("alice", provider=ACME), expected_version=None
    )
    globex = await connection_store.put(
        make_connection("alice", provider=GLOBEX), expected_version=None
    )
    replaced = await connection_store.put(
        msgspec.structs.replace(acme, identity_id="eu-west-1:new"), expected_version=1
    )
    assert replaced.version == 2
    assert await connection_store.get("alice", GLOBEX) == globex
    with pytest.raises(VersionConflictError):
        await connection_store.put(
            msgspec.structs.replace(globex, identity_id="eu-west-1:stale"), expected_version=2
        )
    assert await connection_store.get("alice", GLOBEX) == globex


async def test_deleting_one_provider_leaves_the_others(connection_store: ConnectionStore) -> None:
    await connection_store.put(make_connection("alice"), expected_version=None)
    await connection_store.put(make_connection("alice", provider=ACME), expected_version=None)
    assert await connection_store.delete("alice", ACME) is True
    assert await connection_store.delete("alice", ACME) is False
    assert await connection_store.get("alice", ACME) is None
    assert await connection_store.get("alice") is not None


async def test_iterate_yields_every_provider_of_every_user_grouped_in_user_id_order(
    connection_store: ConnectionStore,
) -> None:
    users = ["bob", "alice", "carol", "al"]
    for user in users:
        for provider in ("default", ACME, GLOBEX):
            await connection_store.put(
                make_connection(user, provider=provider), expected_version=None
            )
    for page_size in (1, 2, 5, 100):
        seen = [
            (c.user_id, c.provider) async for c in connection_store.iterate(page_size=page_size)
        ]
        assert sorted(seen) == sorted((u, p) for u in users for p in ("default", ACME, GLOBEX))
        assert len(seen) == len(set(seen))
        walked = [user for user, _ in seen]
        assert walked == sorted(walked, key=str.encode)
