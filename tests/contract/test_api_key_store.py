"""The ApiKeyStore contract (ports.py), run against every adapter in conftest.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from connector.domain.models import ApiKey, Scope
from connector.domain.ports import ApiKeyStore
from connector.errors import ValidationError

CREATED = datetime(2026, 11, 21, 12, 0, 0, 250000, tzinfo=UTC)


def make_key(key_id: str, name: str, **overrides: Any) -> ApiKey:
    fields: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "key_hash": "ab" * 32,
        "scopes": frozenset({Scope.S3_READ, Scope.CONNECT, Scope.TOKEN_READ}),
        "buckets": ("reports-*", "logs", "with space"),
        "functions": ("etl-?", "*"),
        "read_only": True,
        "created_at": CREATED,
        "role": "arn:aws:iam::123456789012:role/path/elevated",
    }
    fields.update(overrides)
    return ApiKey(**fields)


async def test_a_created_key_reads_back_field_for_field(api_key_store: ApiKeyStore) -> None:
    key = make_key("0123456789abcdef", "ci deploy")
    await api_key_store.create(key)
    read = await api_key_store.get("0123456789abcdef")
    assert read == key
    assert read is not None
    assert read.created_at.utcoffset() == timedelta(0)
    assert read.active


async def test_empty_policies_and_scopes_read_back_empty(api_key_store: ApiKeyStore) -> None:
    key = make_key(
        "k1", "bare", scopes=frozenset(), buckets=(), functions=(), read_only=False, role=None
    )
    await api_key_store.create(key)
    assert await api_key_store.get("k1") == key


async def test_get_of_an_unknown_id_is_none(api_key_store: ApiKeyStore) -> None:
    await api_key_store.create(make_key("k1", "one"))
    assert await api_key_store.get("k2") is None
    assert await api_key_store.get("one") is None  # get looks up ids only


async def test_a_duplicate_name_or_id_is_refused_and_the_first_kept(
    api_key_store: ApiKeyStore,
) -> None:
    first = make_key("k1", "deploy")
    await api_key_store.create(first)
    with pytest.raises(ValidationError):
        await api_key_store.create(make_key("k2", "deploy"))
    with pytest.raises(ValidationError):
        await api_key_store.create(make_key("k1", "other", key_hash="cd" * 32))
    assert await api_key_store.list() == [first]


async def test_list_gives_every_key_oldest_first_revoked_included(
    api_key_store: ApiKeyStore,
) -> None:
    newest = make_key("a", "newest", created_at=CREATED + timedelta(minutes=2))
    oldest = make_key("c", "oldest", created_at=CREATED)
    middle = make_key("b", "middle", created_at=CREATED + timedelta(seconds=1))
    for key in (newest, oldest, middle):
        await api_key_store.create(key)
    revoked = await api_key_store.revoke("middle", CREATED + timedelta(hours=1))

    assert await api_key_store.list() == [oldest, revoked, newest]


async def test_list_of_an_empty_store_is_empty(api_key_store: ApiKeyStore) -> None:
    assert await api_key_store.list() == []


@pytest.mark.parametrize("reference", ["k1", "deploy"])
async def test_revoke_by_id_or_name_marks_the_key_revoked(
    api_key_store: ApiKeyStore, reference: str
) -> None:
    key = make_key("k1", "deploy")
    await api_key_store.create(key)
    await api_key_store.create(make_key("k2", "bystander"))
    at = CREATED + timedelta(days=1)

    revoked = await api_key_store.revoke(reference, at)

    assert revoked == msgspec.structs.replace(key, revoked_at=at)
    assert await api_key_store.get("k1") == revoked
    bystander = await api_key_store.get("k2")
    assert bystander is not None
    assert bystander.active


async def test_revoke_is_idempotent_and_keeps_the_first_time(api_key_store: ApiKeyStore) -> None:
    await api_key_store.create(make_key("k1", "deploy"))
    first = CREATED + timedelta(days=1)
    await api_key_store.revoke("k1", first)

    again = await api_key_store.revoke("deploy", first + timedelta(days=1))

    assert again is not None
    assert again.revoked_at == first
    stored = await api_key_store.get("k1")
    assert stored is not None
    assert stored.revoked_at == first


async def test_concurrent_revokes_keep_one_time(api_key_store: ApiKeyStore) -> None:
    await api_key_store.create(make_key("k1", "deploy"))
    times = [CREATED + timedelta(minutes=i) for i in range(1, 9)]

    results = await asyncio.gather(*(api_key_store.revoke("k1", at) for at in times))

    kept = {r.revoked_at if r is not None else None for r in results}
    assert len(kept) == 1
    assert kept <= set(times)
    stored = await api_key_store.get("k1")
    assert stored is not None
    assert {stored.revoked_at} == kept


async def test_revoke_matches_an_id_before_a_name(api_key_store: ApiKeyStore) -> None:
    await api_key_store.create(make_key("f00d", "by-id"))
    await api_key_store.create(make_key("beef", "f00d"))  # named like the other's id

    revoked = await api_key_store.revoke("f00d", CREATED + timedelta(hours=1))

    assert revoked is not None
    assert revoked.id == "f00d"
    named = await api_key_store.get("beef")
    assert named is not None
    assert named.active


async def test_revoke_of_an_unknown_id_or_name_is_none(api_key_store: ApiKeyStore) -> None:
    await api_key_store.create(make_key("k1", "deploy"))
    assert await api_key_store.revoke("nobody", CREATED) is None
    stored = await api_key_store.get("k1")
    assert stored is not None
    assert stored.active


async def test_a_keys_providers_read_back_in_order(api_key_store: ApiKeyStore) -> None:
    key = make_key("k1", "acme-only", providers=("globex", "acme"))
    await api_key_store.create(key)
    read = await api_key_store.get("k1")
    assert read is not None
    assert read.providers == ("globex", "acme")
    assert [k.providers for k in await api_key_store.list()] == [("globex", "acme")]


async def test_a_key_without_providers_reads_back_as_every_provider(
    api_key_store: ApiKeyStore,
) -> None:
    await api_key_store.create(make_key("k1", "all"))
    read = await api_key_store.get("k1")
    assert read is not None
    assert read.providers == ()
