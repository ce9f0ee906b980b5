"""A user's temporary AWS credentials: cached sealed, re-minted before expiry, once per user."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from connector import metrics
from connector.domain.aws import AwsCredentials
from connector.domain.models import ApiKey, Connection, ConnectionStatus
from connector.domain.ports import Cache, Cipher, Clock, IdentityBroker
from connector.domain.providers import DEFAULT_PROVIDER
from connector.domain.session_policy import session_policy_of
from connector.errors import (
    DecryptionError,
    PermissionDeniedError,
    ReauthRequiredError,
    UpstreamUnavailableError,
)
from connector.services.connections import ConnectionService
from connector.services.freshness import Phase, phase_of
from connector.services.process_layer import ProcessLayer, credentials_entry
from connector.services.single_flight import DistributedLock, SingleFlight
from connector.services.tokens import TokenService
from connector.services.tolerant_cache import TolerantCache
from connector.settings import FreshnessSettings

log = logging.getLogger(__name__)
_LOCK_ATTEMPTS = 3
_decoder = msgspec.json.Decoder(AwsCredentials)
NARROWING_SETTING = "CONNECTOR_RESTRICTED_ROLE_ARN (or AWS_COGNITO_ROLE_ARN)"
PRESIGN_REMINT_AFTER = timedelta(seconds=60)
"""Credentials older than this are re-minted when they would die before a presigned URL."""


def credentials_cache_key(slot: str) -> str:
    return f"creds:{slot}"


def credentials_lock_name(slot: str) -> str:
    return f"lock:creds:{slot}"


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one kind of credentials of a user lives: the user's own (`name` = the user id),
    those narrowed by a key's session policy (`name` adds the policy's fingerprint), or those
    of a key's role (`name` adds a digest of role and policy). Both add the connection's
    creation time, so a disconnect leaves no narrowed or elevated credentials reachable."""

    user_id: str
    name: str
    policy: str | None
    role: str | None = None
    """Role elevation: the user's own credentials are chained into this role."""


def _own_slot_name(user_id: str, provider: str) -> str:
    """The slot of a user's own credentials: another provider's starts with its name (no user
    id holds a `/`); the default keeps the name used before providers existed."""
    return user_id if provider == DEFAULT_PROVIDER else f"{provider}/{user_id}"


def _slot(connection: Connection, key: ApiKey | None, *, narrows: bool, vended: bool) -> _Slot:
    policy = session_policy_of(key) if key is not None else None
    generation = int(connection.created_at.timestamp() * 1000)
    user_id = connection.user_id
    own = _own_slot_name(user_id, connection.provider)
    if key is not None and key.role is not None:
        # AssumeRole takes the session policy itself: no basic-flow role is needed.
        document = policy.document if policy is not None else None
        chained = hashlib.sha256(f"{key.role}\n{document}".encode()).hexdigest()
        return _Slot(user_id, f"{own}/role/{chained[:32]}/{generation}", document, key.role)
    if policy is None or (not narrows and not vended):
        # Without a role to narrow with, the connector's own calls for a restricted key use the
        # user's credentials: the key's policy is then enforced by the connector alone.
        return _Slot(user_id, own, None)
    if not narrows:
        raise PermissionDeniedError(
            "this key has a bucket/function policy or is read-only, so its credentials must"
            f" carry a session policy; the deployment has no role for that: set"
            f" {NARROWING_SETTING} and allow the identity pool's classic flow",
            details={"setting": "CONNECTOR_RESTRICTED_ROLE_ARN"},
        )
    return _Slot(user_id, f"{own}/{policy.fingerprint}/{generation}", policy.document)


class CredentialService:
    """Check the cache, single-flight in the process, a cache lock across processes, re-read
    after acquiring, mint (the contract's "Freshness"). `GetId` runs once per user and provider: the
    identity id is stored on the connection. Everything is keyed by the provider of
    `connections` (cache entries, locks, in-process entries).

    Lifetimes are measured on the broker's clock at mint time and anchored on ours, so an
    offset between the two (or a test clock) never makes just-minted credentials look expired.
    """

    def __init__(
        self,
        *,
        connections: ConnectionService,
        tokens: TokenService,
        broker: IdentityBroker,
        cache: Cache | TolerantCache,
        cipher: Cipher,
        lock: DistributedLock,
        clock: Clock,
        windows: FreshnessSettings,
        layer: ProcessLayer | None = None,
    ) -> None:
        self._connections = connections
        self._tokens = tokens
        self._broker = broker
        self._cache = cache if isinstance(cache, TolerantCache) else TolerantCache(cache)
        self._cipher = cipher
        self._lock = lock
        self._clock = clock
        self._windows = windows
        self._layer = layer or ProcessLayer()
        self._flight: SingleFlight[AwsCredentials] = SingleFlight()
        self._forced: SingleFlight[AwsCredentials] = SingleFlight()
        self._provider = connections.provider

    async def get_credentials(
        self,
        user_id: str,
        *,
        key: ApiKey | None = None,
        vended: bool = False,
        force: bool = False,
        valid_for: timedelta | None = None,
    ) -> AwsCredentials:
        """Credentials outside the mandatory window. With `key`, those for that key: a
        restricted key's carry its session policy, cached apart (per user and policy).
        `vended`: they leave the connector (/credentials, /container-credentials), so a
        restricted key without a role to narrow with is FORBIDDEN rather than handed the
        user's own; for the connector's own calls, those are used instead.
        `force` re-mints even when cached (once, after AWS answered that the cached ones
        expired). `valid_for`: cached ones that would die sooner are re-minted first, once
        (unless minted within PRESIGN_REMINT_AFTER: a new mint would not last much longer)."""
        connection = await self._connections.get(user_id)
        _ensure_usable(connection)
        slot = _slot(connection, key, narrows=self._broker.narrows, vended=vended)
        if force:
            requested_at = self._clock.now()
            return await self._forced.run(slot.name, lambda: self._mint(slot, requested_at))
        cached = await self._read(slot, connection.identity_id)
        if cached is not None and valid_for is not None and self._dies_before(cached, valid_for):
            return await self._forced.run(
                slot.name, lambda: self._mint(slot, None, valid_for=valid_for)
            )
        if cached is not None:
            phase = self._phase(cached)
            if phase is Phase.FRESH:
                return cached
            if phase is Phase.ADVISORY:
                self._flight.start(slot.name, lambda: self._mint(slot, None))
                return cached
        return await self._flight.run(slot.name, lambda: self._mint(slot, None))

    def _dies_before(self, cached: AwsCredentials, valid_for: timedelta) -> bool:
        now = self._clock.now()
        return cached.expiration < now + valid_for and now - cached.issued_at > PRESIGN_REMINT_AFTER

    async def _mint(
        self, slot: _Slot, newer_than: datetime | None, *, valid_for: timedelta | None = None
    ) -> AwsCredentials:
        name = credentials_lock_name(slot.name)
        for _ in range(_LOCK_ATTEMPTS):
            owner = await self._lock.acquire(name)
            if owner is None:
                # Another process is minting: wait for it, then read what it cached.
                await self._lock.wait(name)
                current = await self._reusable(slot, newer_than, Phase.ADVISORY, valid_for)
                if current is not None:
                    return current
                continue
            try:
                current = await self._reusable(slot, newer_than, Phase.FRESH, valid_for)
                if current is not None:
                    return current  # minted by someone else while we queued
                with metrics.outcome_counted(metrics.MINTS):
                    return await self._mint_locked(slot)
            finally:
                await self._lock.release(name, owner)
        raise UpstreamUnavailableError("credential minting is busy; try again", retry_after=1)

    async def _mint_locked(self, slot: _Slot) -> AwsCredentials:
        if slot.role is None:
            return await self._mint_for_identity(slot)
        # Role elevation: the user's own credentials (cached and minted by their own rules),
        # chained into the key's role.
        own = await self.get_credentials(slot.user_id)
        started = self._clock.now()
        minted = await self._broker.elevate(
            own, user_id=slot.user_id, role_arn=slot.role, policy=slot.policy
        )
        return await self._keep(slot, minted, started)

    async def _mint_for_identity(self, slot: _Slot) -> AwsCredentials:
        # Refreshed first when near expiry: Cognito Identity refuses an expired ID token.
        connection = await self._tokens.fresh_connection(slot.user_id)
        id_token = self._connections.open_tokens(connection).id_token
        identity_id = connection.identity_id
        if identity_id is None:
            identity_id = await self._broker.get_identity_id(id_token)
            stored = await self._connections.set_identity_id(connection, identity_id)
            identity_id = stored.identity_id or identity_id
        started = self._clock.now()
        minted = await self._broker.get_credentials(
            identity_id, id_token, user_id=slot.user_id, policy=slot.policy
        )
        return await self._keep(slot, minted, started)

    async def _keep(self, slot: _Slot, minted: AwsCredentials, started: datetime) -> AwsCredentials:
        """Anchor the lifetime on our clock, refuse credentials born expiring, cache them."""
        credentials = msgspec.structs.replace(
            minted, issued_at=started, expiration=started + (minted.expiration - minted.issued_at)
        )
        if self._phase(credentials) is Phase.MANDATORY:
            raise UpstreamUnavailableError("AWS issued credentials that expire at once")
        await self._write(slot.name, credentials)
        return credentials

    async def _reusable(
        self,
        slot: _Slot,
        newer_than: datetime | None,
        worst: Phase,
        valid_for: timedelta | None = None,
    ) -> AwsCredentials | None:
        """Cached credentials no staler than `worst`, minted after `newer_than` and lasting
        `valid_for` (or just minted) if given. Read from the shared cache, past this process's
        layer: another replica may have minted."""
        connection = await self._connections.get(slot.user_id)
        cached = await self._read(slot, connection.identity_id, shared=True)
        if cached is None or (newer_than is not None and cached.issued_at <= newer_than):
            return None
        if valid_for is not None and self._dies_before(cached, valid_for):
            return None
        phase = self._phase(cached)
        acceptable = phase is Phase.FRESH or (phase is Phase.ADVISORY and worst is Phase.ADVISORY)
        return cached if acceptable else None

    async def forget(self, user_id: str) -> None:
        """Drop the user's cached credentials here, in the cache and on every replica."""
        own = _own_slot_name(user_id, self._provider)
        await self._cache.delete(credentials_cache_key(own))
        await self._layer.invalidate(credentials_entry(own))

    async def _read(
        self, slot: _Slot, identity_id: str | None, *, shared: bool = False
    ) -> AwsCredentials | None:
        """The cached credentials of this identity, or None (absent, unreadable, other identity):
        this process's own when it holds them (unless `shared`), else the cache's."""
        if identity_id is None:
            return None
        if not shared:
            held = self._layer.credentials.get(credentials_entry(slot.name))
            if held is not None and held.identity_id == identity_id:
                return held
        raw = await self._cache.get(credentials_cache_key(slot.name))
        if raw is None:
            return None
        try:
            credentials = _decoder.decode(self._cipher.open(raw.decode("ascii")))
        except (DecryptionError, msgspec.DecodeError, UnicodeDecodeError):
            log.warning("cached credentials of %r are unreadable; minting new ones", slot.user_id)
            await self._cache.delete(credentials_cache_key(slot.name))
            return None
        # The user connected again as another Cognito user: those belong to the old identity.
        if credentials.identity_id != identity_id:
            return None
        self._hold(slot.name, credentials)
        return credentials

    async def _write(self, slot: str, credentials: AwsCredentials) -> None:
        ttl = (credentials.expiration - self._clock.now()).total_seconds()
        sealed = self._cipher.seal(msgspec.json.encode(credentials).decode())
        await self._cache.set(credentials_cache_key(slot), sealed.encode("ascii"), ttl=ttl)
        # Held here even when the cache is down: a Redis outage must not cost a mint per call.
        self._hold(slot, credentials)
        await self._layer.announce(credentials_entry(slot))

    def _hold(self, slot: str, credentials: AwsCredentials) -> None:
        ttl = (credentials.expiration - self._clock.now()).total_seconds()
        self._layer.credentials.put(credentials_entry(slot), credentials, ttl)

    def _phase(self, credentials: AwsCredentials) -> Phase:
        return phase_of(
            self._clock.now(), credentials.issued_at, credentials.expiration, self._windows
        )


def _ensure_usable(connection: Connection) -> None:
    if connection.status is ConnectionStatus.REAUTH_REQUIRED:
        raise ReauthRequiredError(
            "the refresh token was rejected: the user must connect again",
            details={"userId": connection.user_id},
        )
