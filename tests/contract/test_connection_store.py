"""The ConnectionStore contract (ports.py), run against every adapter in conftest.py."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from connector.domain.models import Connection, ConnectionStatus, SealedTokens
from connector.domain.ports import ConnectionStore
from connector.errors import VersionConflictError

# Every character X-User-Id allows, at the maximum length.
ODD_USER_ID = ("a.b_c@d:e+f-g" + "Z9" * 64)[:128]
NOW = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC)


def make_connection(user_id: str, **overrides: Any) -> Connection:
    fields: dict[str, Any] = {
        "user_id": user_id,
        "status": ConnectionStatus.ACTIVE,
        "sub": f"sub-{user_id}",
        "username": f"name-{user_id}",
        "email": f"{user_id}@example.com",
        "scopes": ("profile", "openid", "email"),
        "identity_id": f"eu-west-1:{user_id}",
        "tokens": SealedTokens(
            access_token=f"sealed-access-{user_id}",
            id_token=f"sealed-id-{user_id}",
            refresh_token=f"sealed-refresh-{user_id}",
        ),
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        "last_refreshed_at": NOW - timedelta(minutes=5),
        "created_at": NOW - timedelta(days=3),
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Connection(**fields)


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.utcoffset() == timedelta(0)


async def test_a_created_connection_reads_back_field_for_field(
    connection_store: ConnectionStore,
) -> None:
    paris = timezone(timedelta(hours=2))
    written = make_connection(
        "alice",
        status=ConnectionStatus.REAUTH_REQUIRED,
        expires_at=datetime(2026, 11, 21, 14, 30, 15, 654321, tzinfo=paris),
        version=41,  # ignored: the store owns the version
    )
    stored = await connection_store.put(written, expected_version=None)
    assert stored == msgspec.structs.replace(written, version=1)

    read = await connection_store.get("alice")
    assert read == stored
    assert read is not None
    assert read.scopes == ("profile", "openid", "email")
    assert read.status is ConnectionStatus.REAUTH_REQUIRED
    assert read.expires_at == datetime(2026, 11, 21, 12, 30, 15, 654321, tzinfo=UTC)
    for value in (read.issued_at, read.expires_at, read.last_refreshed_at, read.created_at):
        assert_utc(value)


async def test_optional_fields_read_back_as_none_and_no_scopes_as_empty(
    connection_store: ConnectionStore,
) -> None:
    written = make_connection(
        "bob",
        username=None,
        email=None,
        identity_id=None,
        scopes=(),
        last_refreshed_at=None,
        tokens=SealedTokens(access_token="sealed-a", id_token="sealed-i", refresh_token=None),
    )
    await connection_store.put(written, expected_version=None)
    assert await connection_store.get("bob") == msgspec.structs.replace(written, version=1)


async def test_get_of_an_unknown_user_is_none(connection_store: ConnectionStore) -> None:
    assert await connection_store.get("nobody") is None


async def test_creating_an_existing_connection_conflicts_and_keeps_the_first(
    connection_store: ConnectionStore,
) -> None:
    first = await connection_store.put(make_connection("carol"), expected_version=None)
    with pytest.raises(VersionConflictError):
        await connection_store.put(make_connection("carol", sub="other"), expected_version=None)
    assert await connection_store.get("carol") == first


async def test_replace_at_the_stored_version_writes_and_bumps_the_version(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("dave"), expected_version=None)
    changed = make_connection("dave", identity_id="eu-west-1:new", updated_at=NOW + timedelta(1))
    second = await connection_store.put(changed, expected_version=1)
    assert second == msgspec.structs.replace(changed, version=2)
    assert await connection_store.get("dave") == second

    third = await connection_store.put(make_connection("dave", sub="s3"), expected_version=2)
    assert third.version == 3
    stored = await connection_store.get("dave")
    assert stored is not None
    assert (stored.sub, stored.version) == ("s3", 3)


async def test_replace_at_a_stale_version_conflicts_and_changes_nothing(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("erin"), expected_version=None)
    current = await connection_store.put(make_connection("erin", sub="v2"), expected_version=1)
    for stale in (1, 3, 0):
        with pytest.raises(VersionConflictError):
            await connection_store.put(make_connection("erin", sub="lost"), expected_version=stale)
    assert await connection_store.get("erin") == current


async def test_replace_of_a_deleted_or_never_created_connection_conflicts(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("frank"), expected_version=None)
    assert await connection_store.delete("frank") is True
    with pytest.raises(VersionConflictError):
        await connection_store.put(make_connection("frank"), expected_version=1)
    with pytest.raises(VersionConflictError):
        await connection_store.put(make_connection("ghost"), expected_version=1)
    assert await connection_store.get("frank") is None
    assert await connection_store.get("ghost") is None


async def test_delete_is_idempotent_and_says_whether_a_row_went(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("gina"), expected_version=None)
    await connection_store.put(make_connection("hank"), expected_version=None)
    assert await connection_store.delete("gina") is True
    assert await connection_store.delete("gina") is False
    assert await connection_store.get("gina") is None
    assert await connection_store.get("hank") is not None


async def test_a_deleted_user_can_connect_again_from_version_one(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("ivan"), expected_version=None)
    await connection_store.put(make_connection("ivan"), expected_version=1)
    await connection_store.delete("ivan")
    again = await connection_store.put(make_connection("ivan"), expected_version=None)
    assert again.version == 1


def mixed_user_ids(count: int) -> list[str]:
    """Ids whose byte order differs from a locale's order (case, punctuation, digits)."""
    shapes = ("user-{:03d}", "User.{:03d}", "u_{:03d}@x", "{:03d}:z", "a+{:03d}")
    return [shapes[i % len(shapes)].format(i) for i in range(count)]


async def test_iterate_yields_every_connection_once_in_user_id_order(
    connection_store: ConnectionStore,
) -> None:
    user_ids = mixed_user_ids(250)
    for user_id in random.Random(7).sample(user_ids, len(user_ids)):
        await connection_store.put(make_connection(user_id), expected_version=None)

    seen = [c.user_id async for c in connection_store.iterate(page_size=100)]
    assert seen == sorted(user_ids)
    whole_pages = [c.user_id async for c in connection_store.iterate(page_size=50)]
    assert whole_pages == sorted(user_ids)


async def test_iterate_yields_full_connections(connection_store: ConnectionStore) -> None:
    stored = await connection_store.put(make_connection("judy"), expected_version=None)
    assert [c async for c in connection_store.iterate(page_size=1)] == [stored]


async def test_iterate_of_an_empty_store_yields_nothing(connection_store: ConnectionStore) -> None:
    assert [c async for c in connection_store.iterate()] == []


async def test_iterate_yields_each_once_while_rows_are_rewritten(
    connection_store: ConnectionStore,
) -> None:
    user_ids = mixed_user_ids(250)
    for user_id in user_ids:
        await connection_store.put(make_connection(user_id), expected_version=None)
    ordered = sorted(user_ids)

    seen: list[str] = []
    async for connection in connection_store.iterate(page_size=100):
        seen.append(connection.user_id)
        # Rewrite the row just read, and one further on that a later page will return.
        await connection_store.put(
            msgspec.structs.replace(connection, sub="rewritten"),
            expected_version=connection.version,
        )
        ahead = await connection_store.get(ordered[(len(seen) + 120) % len(ordered)])
        assert ahead is not None
        await connection_store.put(ahead, expected_version=ahead.version)

    assert seen == ordered
    rewritten = [c async for c in connection_store.iterate()]
    assert all(c.sub == "rewritten" for c in rewritten)


async def test_iterate_skips_nothing_when_rows_already_seen_are_deleted(
    connection_store: ConnectionStore,
) -> None:
    user_ids = mixed_user_ids(250)
    for user_id in user_ids:
        await connection_store.put(make_connection(user_id), expected_version=None)

    seen: list[str] = []
    async for connection in connection_store.iterate(page_size=100):
        seen.append(connection.user_id)
        await connection_store.delete(connection.user_id)

    assert seen == sorted(user_ids)


async def test_of_concurrent_replaces_at_one_version_exactly_one_wins(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("kim"), expected_version=None)
    attempts = [make_connection("kim", sub=f"writer-{i}") for i in range(10)]

    results = await asyncio.gather(
        *(connection_store.put(c, expected_version=1) for c in attempts),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, Connection)]
    assert len(winners) == 1
    assert all(isinstance(r, VersionConflictError) for r in results if r is not winners[0])
    assert await connection_store.get("kim") == winners[0]
    assert winners[0].version == 2


async def test_of_concurrent_creates_of_one_user_exactly_one_wins(
    connection_store: ConnectionStore,
) -> None:
    attempts = [make_connection("lena", sub=f"writer-{i}") for i in range(10)]

    results = await asyncio.gather(
        *(connection_store.put(c, expected_version=None) for c in attempts),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, Connection)]
    assert len(winners) == 1
    assert sum(isinstance(r, VersionConflictError) for r in results) == 9
    assert await connection_store.get("lena") == winners[0]


async def test_user_ids_with_every_allowed_character_work_everywhere(
    connection_store: ConnectionStore,
) -> None:
    assert len(ODD_USER_ID) == 128
    created = await connection_store.put(make_connection(ODD_USER_ID), expected_version=None)
    assert await connection_store.get(ODD_USER_ID) == created
    # A prefix is another user: no LIKE or truncation anywhere.
    assert await connection_store.get(ODD_USER_ID[:127]) is None
    replaced = await connection_store.put(make_connection(ODD_USER_ID), expected_version=1)
    assert [c async for c in connection_store.iterate()] == [replaced]
    assert await connection_store.delete(ODD_USER_ID) is True


async def test_ping_answers_on_a_live_store(connection_store: ConnectionStore) -> None:
    await connection_store.ping()


async def test_find_by_sub_returns_the_connections_of_that_account_in_user_id_order(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("zoe", sub="shared-sub"), expected_version=None)
    await connection_store.put(make_connection("amy", sub="shared-sub"), expected_version=None)
    await connection_store.put(make_connection("bob"), expected_version=None)
    found = await connection_store.find_by_sub("shared-sub", limit=5)
    assert [c.user_id for c in found] == ["amy", "zoe"]
    assert found[0].sub == "shared-sub"
    assert [c.user_id for c in await connection_store.find_by_sub("sub-bob")] == ["bob"]


async def test_find_by_sub_stops_at_the_limit_and_matches_the_sub_exactly(
    connection_store: ConnectionStore,
) -> None:
    for user in ("u1", "u2", "u3"):
        await connection_store.put(make_connection(user, sub="Same"), expected_version=None)
    assert len(await connection_store.find_by_sub("Same", limit=2)) == 2
    assert await connection_store.find_by_sub("same") == []
    assert await connection_store.find_by_sub("Sam") == []
    assert await connection_store.find_by_sub("nobody") == []


async def test_find_by_sub_forgets_deleted_connections_and_changed_accounts(
    connection_store: ConnectionStore,
) -> None:
    await connection_store.put(make_connection("carl", sub="old-sub"), expected_version=None)
    await connection_store.put(make_connection("dina", sub="old-sub"), expected_version=None)
    await connection_store.delete("dina")
    assert [c.user_id for c in await connection_store.find_by_sub("old-sub")] == ["carl"]
    await connection_store.put(make_connection("carl", sub="new-sub"), expected_version=1)
    assert await connection_store.find_by_sub("old-sub") == []
    assert [c.user_id for c in await connection_store.find_by_sub("new-sub")] == ["carl"]


async def test_count_by_status_of_an_empty_store_is_zero_for_every_status(
    connection_store: ConnectionStore,
) -> None:
    assert await connection_store.count_by_status() == dict.fromkeys(ConnectionStatus, 0)


async def test_count_by_status_counts_every_connection_of_every_provider_under_its_status(
    connection_store: ConnectionStore,
) -> None:
    for user_id in ("ann", "bob", "cy"):
        await connection_store.put(make_connection(user_id), expected_version=None)
    await connection_store.put(make_connection("ann", provider="partner"), expected_version=None)
    await connection_store.put(
        make_connection("dee", status=ConnectionStatus.REAUTH_REQUIRED), expected_version=None
    )
    assert await connection_store.count_by_status() == {
        ConnectionStatus.ACTIVE: 4,
        ConnectionStatus.REAUTH_REQUIRED: 1,
    }

    bob = await connection_store.get("bob")
    assert bob is not None
    demoted = msgspec.structs.replace(bob, status=ConnectionStatus.REAUTH_REQUIRED)
    await connection_store.put(demoted, expected_version=bob.version)
    await connection_store.delete("cy")
    await connection_store.delete("ann", "partner")
    assert await connection_store.count_by_status() == {
        ConnectionStatus.ACTIVE: 1,
        ConnectionStatus.REAUTH_REQUIRED: 2,
    }
