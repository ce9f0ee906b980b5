"""Valid Cognito tokens for a user: refreshed before expiry, once per user across replicas."""

from __future__ import annotations

import logging

from connector import metrics
from connector.domain.events import EventType
from connector.domain.models import Connection, ConnectionStatus
from connector.domain.oauth import TokenSet
from connector.domain.ports import Clock, IdentityProvider, TokenVerifier
from connector.domain.providers import DEFAULT_PROVIDER, scoped
from connector.errors import (
    ErrorCode,
    InvalidGrantError,
    OAuthProtocolError,
    OperationFailedError,
    ReauthRequiredError,
    TokenVerificationError,
    UpstreamUnavailableError,
    VersionConflictError,
)
from connector.services.connections import ConnectionService
from connector.services.freshness import Phase, phase_of
from connector.services.single_flight import DistributedLock, SingleFlight
from connector.settings import FreshnessSettings

log = logging.getLogger(__name__)
_LOCK_ATTEMPTS = 3


def refresh_lock_name(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("lock:refresh", user_id, provider)


class TokenService:
    """Check the cache, single-flight in the process, a cache lock across processes, re-read
    after acquiring, write with a version check (docs/contract.md "Freshness")."""

    def __init__(
        self,
        *,
        connections: ConnectionService,
        provider: IdentityProvider,
        verifier: TokenVerifier,
        lock: DistributedLock,
        clock: Clock,
        windows: FreshnessSettings,
    ) -> None:
        self._connections = connections
        self._provider = provider
        self._verifier = verifier
        self._lock = lock
        self._clock = clock
        self._windows = windows
        self._flight: SingleFlight[Connection] = SingleFlight()
        # One instance per provider: its connections, its Cognito, its locks.
        self._name = connections.provider

    async def get_tokens(self, user_id: str) -> TokenSet:
        """Plaintext tokens that are not about to expire."""
        return self._connections.open_tokens(await self.fresh_connection(user_id))

    async def fresh_connection(self, user_id: str) -> Connection:
        """The connection, refreshed first when its access token is in the mandatory window."""
        connection = await self._connections.get(user_id)
        _ensure_usable(connection)
        phase = self._phase(connection)
        if phase is Phase.FRESH:
            return connection
        if phase is Phase.ADVISORY:
            self._flight.start(self._flight_key(user_id), lambda: self._refresh(user_id))
            return connection
        return await self._flight.run(self._flight_key(user_id), lambda: self._refresh(user_id))

    def _flight_key(self, user_id: str) -> str:
        return scoped("refresh", user_id, self._name)

    def _phase(self, connection: Connection) -> Phase:
        return phase_of(
            self._clock.now(), connection.issued_at, connection.expires_at, self._windows
        )

    async def _refresh(self, user_id: str) -> Connection:
        name = refresh_lock_name(user_id, self._name)
        for _ in range(_LOCK_ATTEMPTS):
            owner = await self._lock.acquire(name)
            if owner is None:
                # Another process is refreshing: wait for it, then read what it wrote.
                await self._lock.wait(name)
                current = await self._connections.get_from_store(user_id)
                _ensure_usable(current)
                if self._phase(current) is not Phase.MANDATORY:
                    return current
                continue
            try:
                current = await self._connections.get_from_store(user_id)
                _ensure_usable(current)
                if self._phase(current) is Phase.FRESH:
                    return current  # refreshed by someone else while we queued
                with metrics.outcome_counted(metrics.REFRESHES):
                    return await self._refresh_locked(current)
            finally:
                await self._lock.release(name, owner)
        raise UpstreamUnavailableError("token refresh is busy; try again", retry_after=1)

    async def _refresh_locked(self, current: Connection) -> Connection:
        tokens = self._connections.open_tokens(current)
        if tokens.refresh_token is None:
            await self._connections.mark_reauth_required(current)
            raise ReauthRequiredError("no refresh token is stored: the user must connect again")
        try:
            grant = await self._provider.refresh(tokens.refresh_token)
        except OAuthProtocolError as exc:
            await self._connections.record_event(
                EventType.REFRESH_FAILED, current, reason=exc.oauth_error
            )
            raise OperationFailedError(
                ErrorCode.GET_CONNECTION_FAILED,
                "Cognito refused the token refresh",
                details={"upstreamCode": exc.oauth_error, "retryable": False},
            ) from exc
        except InvalidGrantError:
            latest = await self._connections.get_from_store(current.user_id)
            if latest.version != current.version:
                return latest  # another writer (a reconnect) replaced the token we used
            await self._connections.mark_reauth_required(current)
            log.info(
                "refresh token of %r (provider %s) rejected: reauth required",
                current.user_id,
                current.provider,
            )
            raise ReauthRequiredError(
                "Cognito rejected the refresh token: the user must connect again"
            ) from None
        try:
            claims = None
            if grant.id_token is not None:
                claims = await self._verifier.verify_id_token(
                    grant.id_token, nonce=None, access_token=grant.access_token
                )
            await self._verifier.verify_access_token(grant.access_token)
        except (OAuthProtocolError, TokenVerificationError) as exc:
            await self._connections.record_event(
                EventType.REFRESH_FAILED, current, reason="invalid_refresh_answer"
            )
            raise OperationFailedError(
                ErrorCode.GET_CONNECTION_FAILED,
                f"Cognito's refresh answer was refused: {exc.message}",
                details={"upstreamCode": exc.details.get("upstreamCode", "invalid_token")},
            ) from exc
        try:
            return await self._connections.save_refresh(current, grant, claims)
        except VersionConflictError:
            return await self._connections.get_from_store(current.user_id)


def _ensure_usable(connection: Connection) -> None:
    if connection.status is ConnectionStatus.REAUTH_REQUIRED:
        raise ReauthRequiredError(
            "the refresh token was rejected: the user must connect again",
            details={"userId": connection.user_id},
        )
