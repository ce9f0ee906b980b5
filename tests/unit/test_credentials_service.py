"""CredentialService over honest fakes and a fixed clock: freshness, single minting, sealing."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from support.factories import make_api_key
from support.fake_world import FakeOAuthWorld, make_fake_oauth_world
from support.fakes import (
    FixedClock,
)

from connector.domain.aws import AwsCredentials
from connector.domain.session_policy import session_policy
from connector.errors import (
    AccessDeniedError,
    NotConnectedError,
    PermissionDeniedError,
    ReauthRequiredError,
    VersionConflictError,
)
from connector.services.credentials import CredentialService, credentials_cache_key
from connector.services.disconnect import DisconnectService
from connector.services.single_flight import DistributedLock
from connector.settings import FreshnessSettings

TOKEN_LIFETIME = 3600
CREDENTIALS_LIFETIME = 3600  # windows: advisory last 900 s (cap), mandatory last 600 s (cap)


class FakeIdentityBroker:
    """Cognito Identity in miniature: one identity per Cognito user, expired ID tokens refused
    (as Cognito does), new credentials per mint, counters and an optional delay."""

    def __init__(self, clock: FixedClock, *, lifetime: int = CREDENTIALS_LIFETIME) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.get_id_calls = 0
        self.mint_calls = 0
        self.delay = 0.0
        self.narrows = True
        self.elevated: list[tuple[str, str, str, str | None]] = []
        self.refused_roles: set[str] = set()
        self.minted_for: list[tuple[str, str | None]] = []

    def _claims(self, id_token: str) -> dict[str, object]:
        claims: dict[str, object] = json.loads(id_token)
        if int(str(claims["exp"])) <= self.clock.now().timestamp():
            raise AccessDeniedError("NotAuthorizedException: Invalid login token. Token expired")
        return claims

    async def elevate(
        self, credentials: AwsCredentials, *, user_id: str, role_arn: str, policy: str | None
    ) -> AwsCredentials:
        self.mint_calls += 1
        self.elevated.append((credentials.access_key_id, user_id, role_arn, policy))
        if role_arn in self.refused_roles:
            raise AccessDeniedError(
                "AWS denied GET_CONNECTION (AccessDenied)",
                details={"upstreamCode": "AccessDenied"},
            )
        now = self.clock.now()
        return AwsCredentials(
            access_key_id=f"ASIAROLE{self.mint_calls:08d}",
            secret_access_key="role-secret",
            session_token="role-session",
            expiration=now + timedelta(seconds=3600),
            identity_id=credentials.identity_id,
            issued_at=now,
        )

    async def get_identity_id(self, id_token: str) -> str:
        self.get_id_calls += 1
        return f"us-east-1:{self._claims(id_token)['sub']}"

    async def get_credentials(
        self, identity_id: str, id_token: str, *, user_id: str, policy: str | None = None
    ) -> AwsCredentials:
        self.mint_calls += 1
        self.minted_for.append((user_id, policy))
        serial = self.mint_calls
        if self.delay:
            await asyncio.sleep(self.delay)
        claims = self._claims(id_token)
        assert identity_id == f"us-east-1:{claims['sub']}", "Logins do not match the identity"
        now = self.clock.now()
        return AwsCredentials(
            access_key_id=f"ASIAFAKE{serial:08d}",
            secret_access_key=f"secret-{serial}-{secrets.token_hex(8)}",
            session_token=f"session-{serial}-{secrets.token_hex(8)}",
            expiration=now + timedelta(seconds=self.lifetime),
            identity_id=identity_id,
            issued_at=now,
        )


@dataclass
class World(FakeOAuthWorld):
    broker: FakeIdentityBroker

    def credential_service(self) -> CredentialService:
        """One replica's service (replicas share the store and cache, not the single-flight)."""
        return CredentialService(
            connections=self.connections,
            tokens=self.tokens,
            broker=self.broker,
            cache=self.cache,
            cipher=self.cipher,
            lock=DistributedLock(self.cache, poll=0.001),
            clock=self.clock,
            windows=FreshnessSettings(),
        )


@pytest.fixture
def world() -> World:
    base = make_fake_oauth_world(token_lifetime=TOKEN_LIFETIME)
    return World(**vars(base), broker=FakeIdentityBroker(base.clock))


async def settle() -> None:
    """Let background tasks (an advisory re-mint) run to completion."""
    for _ in range(100):
        await asyncio.sleep(0)


async def test_get_id_runs_once_per_user_and_the_identity_is_stored_on_the_connection(
    world: World,
) -> None:
    await world.connect("alice", "sub-1")
    await world.connect("bob", "sub-2")
    service = world.credential_service()
    for _ in range(5):
        for user in ("alice", "bob"):
            await service.get_credentials(user)
            await service.get_credentials(user, force=True)
        world.clock.advance(CREDENTIALS_LIFETIME + 1)
    assert world.broker.get_id_calls == 2
    assert world.store.rows["alice"].identity_id == "us-east-1:sub-1"
    assert world.store.rows["bob"].identity_id == "us-east-1:sub-2"
    assert world.broker.mint_calls == 20


async def test_fifty_concurrent_requests_mint_once(world: World) -> None:
    await world.connect()
    world.broker.delay = 0.01
    service = world.credential_service()
    results = await asyncio.gather(*(service.get_credentials("alice") for _ in range(50)))
    assert world.broker.mint_calls == 1
    assert world.broker.get_id_calls == 1
    assert len({r.access_key_id for r in results}) == 1


async def test_two_replicas_at_once_mint_once(world: World) -> None:
    await world.connect()
    world.broker.delay = 0.01
    replicas = [world.credential_service() for _ in range(3)]
    results = await asyncio.gather(
        *(replica.get_credentials("alice") for replica in replicas for _ in range(10))
    )
    assert world.broker.mint_calls == 1
    assert len({r.access_key_id for r in results}) == 1


async def test_fresh_credentials_are_served_from_the_cache(world: World) -> None:
    await world.connect()
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.clock.advance(CREDENTIALS_LIFETIME - 901)  # just before the advisory window
    again = await service.get_credentials("alice")
    await settle()
    assert again == first
    assert world.broker.mint_calls == 1


async def test_the_advisory_window_serves_cached_and_re_mints_once_in_the_background(
    world: World,
) -> None:
    await world.connect()
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.clock.advance(CREDENTIALS_LIFETIME - 800)  # 800 s left: advisory, not mandatory
    world.broker.delay = 0.01
    served = await asyncio.gather(*(service.get_credentials("alice") for _ in range(10)))
    assert all(s == first for s in served)
    await asyncio.sleep(0.05)
    assert world.broker.mint_calls == 2
    renewed = await service.get_credentials("alice")
    assert renewed.access_key_id != first.access_key_id
    assert renewed.issued_at == world.clock.now()


async def test_the_mandatory_window_waits_for_new_credentials(world: World) -> None:
    await world.connect()
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.clock.advance(CREDENTIALS_LIFETIME - 500)  # 500 s left: mandatory
    world.broker.delay = 0.01
    served = await asyncio.gather(*(service.get_credentials("alice") for _ in range(10)))
    assert world.broker.mint_calls == 2
    assert {s.access_key_id for s in served} == {"ASIAFAKE00000002"}
    assert all(s.expiration - world.clock.now() > timedelta(seconds=600) for s in served)
    assert first.access_key_id not in {s.access_key_id for s in served}


async def test_expired_credentials_are_never_served(world: World) -> None:
    await world.connect()
    world.broker.lifetime = 90  # moto's lifetime: windows are 22.5 s and 15 s
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.clock.advance(76)  # 14 s left: mandatory
    second = await service.get_credentials("alice")
    world.clock.advance(200)
    third = await service.get_credentials("alice")
    assert len({first.access_key_id, second.access_key_id, third.access_key_id}) == 3
    assert third.expiration - world.clock.now() == timedelta(seconds=90)


async def test_force_re_mints_even_when_cached_and_concurrent_forces_share_one_mint(
    world: World,
) -> None:
    await world.connect()
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.broker.delay = 0.01
    forced = await asyncio.gather(*(service.get_credentials("alice", force=True) for _ in range(5)))
    assert world.broker.mint_calls == 2
    assert {f.access_key_id for f in forced} == {"ASIAFAKE00000002"}
    assert (await service.get_credentials("alice")).access_key_id != first.access_key_id


async def test_credentials_are_sealed_in_the_cache_with_a_ttl_to_expiration(
    world: World,
) -> None:
    await world.connect()
    service = world.credential_service()
    credentials = await service.get_credentials("alice")
    raw = world.cache.data[credentials_cache_key("alice")][0]
    for secret in (
        credentials.secret_access_key,
        credentials.session_token,
        credentials.access_key_id,
    ):
        assert secret.encode() not in raw
    opened = json.loads(world.cipher.open(raw.decode()))
    assert opened["secret_access_key"] == credentials.secret_access_key
    ttl = await world.cache.ttl(credentials_cache_key("alice"))
    assert ttl is not None
    assert CREDENTIALS_LIFETIME - 5 < ttl <= CREDENTIALS_LIFETIME


async def test_unreadable_cache_entries_are_replaced(world: World) -> None:
    await world.connect()
    await world.credential_service().get_credentials("alice")
    await world.cache.set(credentials_cache_key("alice"), b"not-a-sealed-value")
    fresh = world.credential_service()  # a replica that holds nothing yet reads the cache
    credentials = await fresh.get_credentials("alice")
    assert world.broker.mint_calls == 2
    assert (await fresh.get_credentials("alice")) == credentials
    assert world.broker.mint_calls == 2


async def test_a_cache_down_from_the_start_costs_one_mint_not_one_per_call(world: World) -> None:
    await world.connect()
    service = world.credential_service()
    world.cache.down = True
    served = {(await service.get_credentials("alice")).access_key_id for _ in range(20)}
    assert len(served) == 1
    assert world.broker.mint_calls == 1


async def test_a_cache_outage_still_serves_credentials(world: World) -> None:
    await world.connect()
    service = world.credential_service()
    world.cache.down = True
    first = await service.get_credentials("alice")
    second = await service.get_credentials("alice")
    assert first.identity_id == second.identity_id == "us-east-1:sub-1"
    assert world.broker.get_id_calls == 1  # the identity id lives on the connection
    world.cache.down = False
    third = await service.get_credentials("alice")
    assert (await service.get_credentials("alice")) == third


async def test_an_expired_id_token_is_refreshed_before_minting(world: World) -> None:
    await world.connect()
    world.broker.lifetime = 600
    service = world.credential_service()
    await service.get_credentials("alice")
    world.clock.advance(TOKEN_LIFETIME + 60)  # the ID token has expired too
    credentials = await service.get_credentials("alice")
    assert world.provider.refresh_calls == 1
    assert credentials.expiration > world.clock.now()


async def test_a_user_reconnected_as_another_cognito_user_gets_that_users_identity(
    world: World,
) -> None:
    await world.connect("alice", "sub-1")
    service = world.credential_service()
    before = await service.get_credentials("alice")
    await world.connect("alice", "sub-other", replace=True)
    after = await service.get_credentials("alice")
    assert before.identity_id == "us-east-1:sub-1"
    assert after.identity_id == "us-east-1:sub-other"
    assert world.broker.get_id_calls == 2


async def test_users_without_a_usable_connection_get_no_credentials(world: World) -> None:
    service = world.credential_service()
    with pytest.raises(NotConnectedError):
        await service.get_credentials("nobody")
    await world.connect()
    await service.get_credentials("alice")
    await world.connections.mark_reauth_required(world.store.rows["alice"])
    with pytest.raises(ReauthRequiredError):
        await service.get_credentials("alice")


async def test_disconnect_purges_cached_credentials(world: World) -> None:
    await world.connect()
    service = world.credential_service()
    await service.get_credentials("alice")
    assert credentials_cache_key("alice") in world.cache.data
    disconnect = DisconnectService(world.connections, world.provider, credentials=service)
    await disconnect.disconnect("alice")
    assert credentials_cache_key("alice") not in world.cache.data
    with pytest.raises(NotConnectedError):
        await service.get_credentials("alice")


async def test_set_identity_id_retries_over_a_concurrent_write(world: World) -> None:
    await world.connect()
    stale = world.store.rows["alice"]
    world.clock.advance(5)
    await world.connect()  # a reconnect by the same Cognito user bumps the version
    stored = await world.connections.set_identity_id(stale, "us-east-1:sub-1")
    assert stored.identity_id == "us-east-1:sub-1"
    assert stored.version == stale.version + 2
    assert world.store.rows["alice"].identity_id == "us-east-1:sub-1"


async def test_set_identity_id_keeps_the_identity_another_writer_stored_first(
    world: World,
) -> None:
    await world.connect()
    stale = world.store.rows["alice"]
    await world.connections.set_identity_id(stale, "us-east-1:first")
    stored = await world.connections.set_identity_id(stale, "us-east-1:second")
    assert stored.identity_id == "us-east-1:first"
    assert world.store.rows["alice"].identity_id == "us-east-1:first"


async def test_set_identity_id_refuses_a_connection_replaced_by_another_cognito_user(
    world: World,
) -> None:
    await world.connect("alice", "sub-1")
    stale = world.store.rows["alice"]
    await world.connect("alice", "sub-2", replace=True)
    with pytest.raises(VersionConflictError):
        await world.connections.set_identity_id(stale, "us-east-1:sub-1")
    assert world.store.rows["alice"].identity_id is None


async def test_credentials_that_would_die_first_are_re_minted_once_for_a_long_url(
    world: World,
) -> None:
    """Presign: cached credentials that end before `valid_for` are replaced first, once for
    all concurrent callers, and across replicas."""
    await world.connect()
    world.broker.delay = 0.01
    replicas = [world.credential_service() for _ in range(2)]
    first = await replicas[0].get_credentials("alice")
    world.clock.advance(1000)  # still fresh, but only 2600 s left
    valid_for = timedelta(seconds=3000)
    renewed = await asyncio.gather(
        *(r.get_credentials("alice", valid_for=valid_for) for r in replicas for _ in range(10))
    )
    assert world.broker.mint_calls == 2
    assert {c.access_key_id for c in renewed} == {renewed[0].access_key_id}
    assert renewed[0].access_key_id != first.access_key_id
    assert renewed[0].expiration - world.clock.now() >= valid_for


async def test_just_minted_credentials_are_not_re_minted_for_a_url_longer_than_they_live(
    world: World,
) -> None:
    await world.connect()
    service = world.credential_service()
    first = await service.get_credentials("alice")
    world.clock.advance(30)
    longer = await service.get_credentials("alice", valid_for=timedelta(seconds=3600))
    assert longer == first
    assert world.broker.mint_calls == 1


async def test_a_restricted_key_gets_credentials_minted_with_its_policy_and_cached_apart(
    world: World,
) -> None:
    await world.connect()
    service = world.credential_service()
    restricted = make_api_key("r", "ro", buckets=("demo-*",), read_only=True)
    own = await service.get_credentials("alice")
    narrowed = await service.get_credentials("alice", key=restricted, vended=True)
    again = await service.get_credentials("alice", key=restricted, vended=True)
    assert narrowed == again
    assert narrowed.access_key_id != own.access_key_id
    policy = session_policy(("demo-*",), (), read_only=True).document
    assert world.broker.minted_for == [("alice", None), ("alice", policy)]


async def test_without_narrowing_a_restricted_key_is_refused_vended_credentials(
    world: World,
) -> None:
    await world.connect()
    world.broker.narrows = False
    service = world.credential_service()
    restricted = make_api_key("r", "ro", read_only=True)
    with pytest.raises(PermissionDeniedError, match="CONNECTOR_RESTRICTED_ROLE_ARN"):
        await service.get_credentials("alice", key=restricted, vended=True)
    # The connector's own calls for that key use the user's credentials.
    own = await service.get_credentials("alice", key=restricted)
    assert world.broker.minted_for == [("alice", None)]
    assert own.access_key_id.startswith("ASIAFAKE")


ROLE = "arn:aws:iam::123456789012:role/elevated"


async def test_a_role_key_chains_the_users_own_credentials_into_its_role(world: World) -> None:
    await world.connect()
    world.broker.narrows = False  # AssumeRole takes the session policy itself
    service = world.credential_service()
    elevated_key = make_api_key("e", "elevated", role=ROLE, buckets=("demo-*",))
    elevated = await service.get_credentials("alice", key=elevated_key, vended=True)
    again = await service.get_credentials("alice", key=elevated_key, vended=True)
    own = await service.get_credentials("alice")
    assert elevated == again  # cached like any credentials
    policy = session_policy(("demo-*",), (), read_only=False).document
    assert world.broker.elevated == [(own.access_key_id, "alice", ROLE, policy)]
    assert elevated.access_key_id.startswith("ASIAROLE")
    plain_role = make_api_key("p", "plain", role=ROLE)
    await service.get_credentials("alice", key=plain_role)
    assert world.broker.elevated[-1][3] is None  # an unrestricted role key: no session policy


async def test_a_role_the_user_may_not_assume_is_access_denied_with_the_upstream_code(
    world: World,
) -> None:
    await world.connect()
    world.broker.refused_roles.add(ROLE)
    service = world.credential_service()
    with pytest.raises(AccessDeniedError) as refused:
        await service.get_credentials("alice", key=make_api_key("e", "e", role=ROLE))
    assert refused.value.details["upstreamCode"] == "AccessDenied"


async def test_narrowed_credentials_are_minted_once_across_replicas(world: World) -> None:
    await world.connect()
    world.broker.delay = 0.01
    replicas = [world.credential_service() for _ in range(3)]
    restricted = make_api_key("r", "ro", functions=("etl-*",))
    results = await asyncio.gather(
        *(r.get_credentials("alice", key=restricted, vended=True) for r in replicas * 10)
    )
    assert world.broker.mint_calls == 1
    assert len({c.access_key_id for c in results}) == 1
    assert world.broker.minted_for[0][1] == session_policy((), ("etl-*",), read_only=False).document
