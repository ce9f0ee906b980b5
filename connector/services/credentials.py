"""A user's temporary AWS credentials: cached sealed, re-minted before expiry, once per user."""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from connector.domain.aws import AwsCredentials
from connector.domain.models import Connection, ConnectionStatus
from connector.domain.ports import Cache, Cipher, Clock, IdentityBroker
from connector.domain.providers import DEFAULT_PROVIDER, scoped
from connector.errors import DecryptionError, ReauthRequiredError, UpstreamUnavailableError
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


def credentials_cache_key(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("creds", user_id, provider)


def credentials_lock_name(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("lock:creds", user_id, provider)


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

    async def get_credentials(self, user_id: str, *, force: bool = False) -> AwsCredentials:
        """Credentials outside the mandatory window. `force` re-mints even when cached (once,
        after AWS answered that the cached ones expired)."""
        connection = await self._connections.get(user_id)
        _ensure_usable(connection)
        if force:
            requested_at = self._clock.now()
            return await self._forced.run(
                self._flight_key(user_id), lambda: self._mint(user_id, requested_at)
            )
        cached = await self._read(user_id, connection.identity_id)
        if cached is not None:
            phase = self._phase(cached)
            if phase is Phase.FRESH:
                return cached
            if phase is Phase.ADVISORY:
                self._flight.start(self._flight_key(user_id), lambda: self._mint(user_id, None))
                return cached
        return await self._flight.run(self._flight_key(user_id), lambda: self._mint(user_id, None))

    def _flight_key(self, user_id: str) -> str:
        return scoped("creds", user_id, self._provider)

    async def _mint(self, user_id: str, newer_than: datetime | None) -> AwsCredentials:
        name = credentials_lock_name(user_id, self._provider)
        for _ in range(_LOCK_ATTEMPTS):
            owner = await self._lock.acquire(name)
            if owner is None:
                # Another process is minting: wait for it, then read what it cached.
                await self._lock.wait(name)
                current = await self._reusable(user_id, newer_than, Phase.ADVISORY)
                if current is not None:
                    return current
                continue
            try:
                current = await self._reusable(user_id, newer_than, Phase.FRESH)
                if current is not None:
                    return current  # minted by someone else while we queued
                return await self._mint_locked(user_id)
            finally:
                await self._lock.release(name, owner)
        raise UpstreamUnavailableError("credential minting is busy; try again", retry_after=1)

    async def _mint_locked(self, user_id: str) -> AwsCredentials:
        # Refreshed first when near expiry: Cognito Identity refuses an expired ID token.
        connection = await self._tokens.fresh_connection(user_id)
        id_token = self._connections.open_tokens(connection).id_token
        identity_id = connection.identity_id
        if identity_id is None:
            identity_id = await self._broker.get_identity_id(id_token)
            stored = await self._connections.set_identity_id(connection, identity_id)
            identity_id = stored.identity_id or identity_id
        started = self._clock.now()
        minted = await self._broker.get_credentials(identity_id, id_token)
        credentials = msgspec.structs.replace(
            minted, issued_at=started, expiration=started + (minted.expiration - minted.issued_at)
        )
        if self._phase(credentials) is Phase.MANDATORY:
            raise UpstreamUnavailableError("AWS issued credentials that expire at once")
        await self._write(user_id, credentials)
        return credentials

    async def _reusable(
        self, user_id: str, newer_than: datetime | None, worst: Phase
    ) -> AwsCredentials | None:
        """Cached credentials no staler than `worst`, minted after `newer_than` if given. Read
        from the shared cache, past this process's layer: another replica may have minted."""
        connection = await self._connections.get(user_id)
        cached = await self._read(user_id, connection.identity_id, shared=True)
        if cached is None or (newer_than is not None and cached.issued_at <= newer_than):
            return None
        phase = self._phase(cached)
        acceptable = phase is Phase.FRESH or (phase is Phase.ADVISORY and worst is Phase.ADVISORY)
        return cached if acceptable else None

    async def forget(self, user_id: str) -> None:
        """Drop the user's cached credentials here, in the cache and on every replica."""
        await self._cache.delete(credentials_cache_key(user_id, self._provider))
        await self._layer.invalidate(credentials_entry(user_id, self._provider))

    async def _read(
        self, user_id: str, identity_id: str | None, *, shared: bool = False
    ) -> AwsCredentials | None:
        """The cached credentials of this identity, or None (absent, unreadable, other identity):
        this process's own when it holds them (unless `shared`), else the cache's."""
        if identity_id is None:
            return None
        if not shared:
            held = self._layer.credentials.get(credentials_entry(user_id, self._provider))
            if held is not None and held.identity_id == identity_id:
                return held
        raw = await self._cache.get(credentials_cache_key(user_id, self._provider))
        if raw is None:
            return None
        try:
            credentials = _decoder.decode(self._cipher.open(raw.decode("ascii")))
        except (DecryptionError, msgspec.DecodeError, UnicodeDecodeError):
            log.warning(
                "cached credentials of %r (provider %s) are unreadable; minting new ones",
                user_id,
                self._provider,
            )
            await self._cache.delete(credentials_cache_key(user_id, self._provider))
            return None
        # The user connected again as another Cognito user: those belong to the old identity.
        if credentials.identity_id != identity_id:
            return None
        self._hold(user_id, credentials)
        return credentials

    async def _write(self, user_id: str, credentials: AwsCredentials) -> None:
        ttl = (credentials.expiration - self._clock.now()).total_seconds()
        sealed = self._cipher.seal(msgspec.json.encode(credentials).decode())
        key = credentials_cache_key(user_id, self._provider)
        await self._cache.set(key, sealed.encode("ascii"), ttl=ttl)
        # Held here even when the cache is down: a Redis outage must not cost a mint per call.
        self._hold(user_id, credentials)
        await self._layer.announce(credentials_entry(user_id, self._provider))

    def _hold(self, user_id: str, credentials: AwsCredentials) -> None:
        ttl = (credentials.expiration - self._clock.now()).total_seconds()
        self._layer.credentials.put(credentials_entry(user_id, self._provider), credentials, ttl)

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
