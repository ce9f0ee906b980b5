"""API keys: shown once, stored as a hash, checked in constant time, scoped, revocable."""

from __future__ import annotations

import pytest
from support.factories import make_api_key
from support.fakes import FakeApiKeyStore, FixedClock

from connector.domain.models import DEFAULT_SCOPES, Scope
from connector.errors import AuthenticationError, PermissionDeniedError, ValidationError
from connector.services.access import (
    require_bucket,
    require_function,
    require_scope,
    visible_buckets,
)
from connector.services.api_keys import ApiKeyService, hash_key


@pytest.fixture
def store() -> FakeApiKeyStore:
    return FakeApiKeyStore()


@pytest.fixture
def service(store: FakeApiKeyStore) -> ApiKeyService:
    return ApiKeyService(store, FixedClock())


async def test_a_created_key_authenticates_and_only_its_hash_is_stored(
    service: ApiKeyService, store: FakeApiKeyStore
) -> None:
    key, raw = await service.create("billing")
    assert (await service.authenticate(raw)).id == key.id
    stored = store.keys[key.id]
    assert stored.key_hash == hash_key(raw)
    assert raw not in repr(stored)
    secret = raw.split("_", 2)[2]  # ck_<id>_<secret>; the secret itself may hold "_"
    assert len(secret) == 43
    assert secret not in repr(stored)


async def test_keys_carry_at_least_256_bits_of_randomness(service: ApiKeyService) -> None:
    _, raw = await service.create("entropy")
    secret = raw.split("_", 2)[2]
    assert len(secret) >= 43  # 32 bytes, url-safe base64
    _, other = await service.create("entropy-2")
    assert other.split("_", 2)[2] != secret


async def test_without_scopes_a_key_gets_the_defaults_and_never_token_or_credentials(
    service: ApiKeyService,
) -> None:
    key, _ = await service.create("defaults")
    assert key.scopes == DEFAULT_SCOPES
    assert Scope.TOKEN_READ not in key.scopes
    assert Scope.CREDENTIALS_READ not in key.scopes


async def test_read_only_removes_write_scopes_whatever_was_asked(service: ApiKeyService) -> None:
    key, _ = await service.create(
        "ro", scopes=["s3:read", "s3:write", "lambda:invoke"], read_only=True
    )
    assert key.scopes == {Scope.S3_READ}


async def test_unknown_scope_is_refused(service: ApiKeyService) -> None:
    with pytest.raises(ValidationError, match="unknown scope"):
        await service.create("bad", scopes=["s3:everything"])


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        "nonsense",
        "ck_0123456789abcdef_" + "A" * 43,  # well formed, unknown id
        "\xff",  # a header byte that is not ASCII (latin-1 decoded)
        "ck_0123456789abcdef_" + "\xe9" * 43,  # the right length, not ASCII
        "ck_\x00\x1b[0m",  # control characters
        "\u9375" * 100_000,  # any length
    ],
)
async def test_missing_or_unknown_keys_are_unauthorized(
    service: ApiKeyService, presented: str | None
) -> None:
    await service.create("someone")
    with pytest.raises(AuthenticationError):
        await service.authenticate(presented)


async def test_a_key_with_a_known_id_but_wrong_secret_is_unauthorized(
    service: ApiKeyService,
) -> None:
    _, raw = await service.create("victim")
    forged = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    with pytest.raises(AuthenticationError):
        await service.authenticate(forged)


async def test_a_revoked_key_is_refused_at_once_by_id_or_name(service: ApiKeyService) -> None:
    first, raw_first = await service.create("first")
    _, raw_second = await service.create("second")
    await service.revoke(first.id)
    await service.revoke("second")
    for raw in (raw_first, raw_second):
        with pytest.raises(AuthenticationError):
            await service.authenticate(raw)
    assert all(k.revoked_at is not None for k in await service.list())


async def test_revoking_an_unknown_key_is_a_validation_error(service: ApiKeyService) -> None:
    with pytest.raises(ValidationError):
        await service.revoke("nobody")


async def test_scope_and_policy_checks(service: ApiKeyService) -> None:
    key, _ = await service.create(
        "policy", scopes=["s3:read"], buckets=["reports-*", "Exact"], functions=["etl-?"]
    )
    require_scope(key, Scope.S3_READ)
    with pytest.raises(PermissionDeniedError) as caught:
        require_scope(key, Scope.S3_WRITE)
    assert caught.value.details["requiredScope"] == "s3:write"
    require_bucket(key, "reports-2026")
    require_bucket(key, "Exact")
    for outside in ("exact", "other", "areports-1"):  # globs are case-sensitive and anchored
        with pytest.raises(PermissionDeniedError):
            require_bucket(key, outside)
    require_function(key, "etl-a")
    with pytest.raises(PermissionDeniedError):
        require_function(key, "etl-ab")
    assert visible_buckets(key, ["reports-1", "private", "Exact"]) == ["reports-1", "Exact"]


async def test_a_key_without_patterns_covers_every_resource(service: ApiKeyService) -> None:
    key, _ = await service.create("open")
    require_bucket(key, "anything")
    require_function(key, "anything")


@pytest.mark.parametrize(
    "policy",
    [{"buckets": ["demo-*"]}, {"functions": ["echo"]}, {"read_only": True}],
)
async def test_token_read_is_refused_with_a_policy_or_read_only(
    service: ApiKeyService, store: FakeApiKeyStore, policy: dict[str, object]
) -> None:
    with pytest.raises(ValidationError, match="token:read cannot go with"):
        await service.create("t", scopes=["token:read", "s3:read"], **policy)  # type: ignore[arg-type]
    assert await store.list() == []


async def test_a_glob_iam_cannot_express_is_refused(
    service: ApiKeyService, store: FakeApiKeyStore
) -> None:
    with pytest.raises(ValidationError, match="character class"):
        await service.create("cls", scopes=["s3:read"], buckets=["team-[ab]"])
    assert await store.list() == []


async def test_a_policy_that_would_not_fit_sts_is_refused(
    service: ApiKeyService, store: FakeApiKeyStore
) -> None:
    many = [f"bucket-number-{n:03d}-*" for n in range(40)]
    with pytest.raises(ValidationError, match="over STS's 2048"):
        await service.create("big", scopes=["s3:read"], buckets=many)
    assert await store.list() == []


def test_a_stored_restricted_key_may_not_read_the_token() -> None:
    """A key stored before the rule (or by hand) with token:read and a policy."""
    stored = make_api_key("k", "old", scopes=frozenset({Scope.TOKEN_READ}), buckets=("demo-*",))
    with pytest.raises(PermissionDeniedError, match="may not read the Cognito token"):
        require_scope(stored, Scope.TOKEN_READ)
    require_scope(make_api_key("o", "open", scopes=frozenset({Scope.TOKEN_READ})), Scope.TOKEN_READ)


async def test_a_key_may_name_a_role_and_only_a_role_arn(
    service: ApiKeyService, store: FakeApiKeyStore
) -> None:
    role = "arn:aws:iam::123456789012:role/team/elevated"
    key, _ = await service.create("elevated", scopes=["s3:read"], role=role)
    assert key.role == role
    assert (await store.list())[0].role == role
    for wrong in ("elevated", "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::12:role/x"):
        with pytest.raises(ValidationError, match="IAM role ARN"):
            await service.create("bad", scopes=["s3:read"], role=wrong)
