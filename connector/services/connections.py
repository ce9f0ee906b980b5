"""A user's connection: the only writer of the store, reading through the cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec

from connector import metrics
from connector.domain.events import EventType, OutboxRecord
from connector.domain.models import Connection, ConnectionStatus, SealedTokens
from connector.domain.oauth import IdentityClaims, TokenGrant, TokenSet
from connector.domain.ports import Cipher, Clock, ConnectionStore, Outbox
from connector.domain.providers import DEFAULT_PROVIDER, scoped
from connector.errors import IdentityMismatchError, NotConnectedError, VersionConflictError
from connector.services.process_layer import ProcessLayer, connection_entry
from connector.services.tolerant_cache import TolerantCache
from connector.services.webhooks import WebhookEvents

# Bounded so that an invalidation lost while Redis was down heals on its own.
CONNECTION_CACHE_TTL = 300.0
_WRITE_ATTEMPTS = 3
_decoder = msgspec.json.Decoder(Connection)


@dataclass(frozen=True, slots=True)
class Connected:
    """A stored connection, and the connection of another Cognito account it replaced."""

    connection: Connection
    replaced: Connection | None


def _connect_event(existing: Connection | None, *, same_user: bool) -> EventType | None:
    """A new connection (or another Cognito account's) is created; a connection that needed
    reauthentication has recovered; fresh tokens for an active one are no event."""
    if existing is None or not same_user:
        return EventType.CREATED
    if existing.status is ConnectionStatus.REAUTH_REQUIRED:
        return EventType.RECOVERED
    return None


def connection_cache_key(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("conn", user_id, provider)


class ConnectionService:
    """Every write is versioned and written through to the cache (tokens stay sealed there).

    One instance acts on the connections of one provider (`provider`); `for_provider` gives the
    service of another over the same store, cache and process layer.

    Callers never see sealed tokens: the API maps a view, and `open_tokens` hands plaintext
    to the services that must use it, for one request.
    """

    def __init__(
        self,
        store: ConnectionStore,
        cache: TolerantCache,
        cipher: Cipher,
        clock: Clock,
        layer: ProcessLayer | None = None,
        *,
        events: WebhookEvents | None = None,
        outbox: Outbox | None = None,
        provider: str = DEFAULT_PROVIDER,
    ) -> None:
        self._store = store
        self._cache = cache
        self._cipher = cipher
        self._clock = clock
        self._layer = layer or ProcessLayer()
        # Webhooks: records go to the outbox with the change they report (None: no webhooks).
        self._events = events
        self._outbox = outbox
        self.provider = provider

    def for_provider(self, provider: str) -> ConnectionService:
        """The same service acting on `provider`'s connections."""
        if provider == self.provider:
            return self
        return ConnectionService(
            self._store,
            self._cache,
            self._cipher,
            self._clock,
            self._layer,
            events=self._events,
            outbox=self._outbox,
            provider=provider,
        )

    async def get(self, user_id: str) -> Connection:
        """The user's connection, or NOT_CONNECTED: from this process when it holds it, else
        the cache, else the store. A cache outage only costs a database read."""
        held = self._layer.connections.get(connection_entry(user_id, self.provider))
        if held is not None:
            return held
        cached = await self._cache.get(connection_cache_key(user_id, self.provider))
        if cached is not None:
            try:
                connection = _decoder.decode(cached)
            except msgspec.DecodeError:
                await self._cache.delete(connection_cache_key(user_id, self.provider))
            else:
                self._hold(connection)
                return connection
        return await self.get_from_store(user_id)

    async def get_from_store(self, user_id: str) -> Connection:
        """The stored connection, bypassing the cache (re-reads under a lock)."""
        connection = await self._store.get(user_id, self.provider)
        if connection is None:
            details = {"userId": user_id}
            if self.provider != DEFAULT_PROVIDER:
                details["provider"] = self.provider
            raise NotConnectedError(
                "this user has no connection: send them through /connect first", details=details
            )
        await self._remember(connection)
        return connection

    async def connect(
        self,
        user_id: str,
        tokens: SealedTokens,
        claims: IdentityClaims,
        scopes: tuple[str, ...],
        *,
        lifetime: int,
        replace: bool = False,
    ) -> Connected:
        """Create the connection, or replace the tokens of an existing one (createdAt kept,
        reauth_required cleared, the identity id kept for the same Cognito user).

        A stored connection of another Cognito account (another `sub`) is replaced only with
        `replace`; otherwise IDENTITY_MISMATCH and nothing is written. The replaced connection
        comes back so that the caller can revoke its refresh token."""
        for _ in range(_WRITE_ATTEMPTS):
            existing = await self._store.get(user_id, self.provider)
            same_user = existing is not None and existing.sub == claims.sub
            if existing is not None and not same_user and not replace:
                await self.record_event(
                    EventType.IDENTITY_MISMATCH,
                    existing,
                    reason="account_changed",
                )
                raise IdentityMismatchError(
                    "this user is connected to another Cognito account: start the flow with "
                    "replace=true to replace it",
                    details={"reason": "account_changed"},
                )
            now = self._clock.now()
            connection = Connection(
                user_id=user_id,
                provider=self.provider,
                status=ConnectionStatus.ACTIVE,
                sub=claims.sub,
                username=claims.username,
                email=claims.email,
                scopes=scopes,
                identity_id=existing.identity_id if existing and same_user else None,
                tokens=tokens,
                issued_at=now,
                expires_at=now + timedelta(seconds=lifetime),
                last_refreshed_at=None,
                created_at=existing.created_at if existing else now,
                updated_at=now,
            )
            event = _connect_event(existing, same_user=same_user)
            outbox = self._records(event, connection) if event else []
            try:
                stored = await self._write(
                    connection, existing.version if existing else None, outbox
                )
            except VersionConflictError:
                continue
            metrics.CONNECTION_CHANGES.labels(ConnectionStatus.ACTIVE.value).inc()
            return Connected(stored, replaced=None if same_user else existing)
        raise VersionConflictError(f"the connection of {user_id!r} kept changing")

    async def save_refresh(
        self, current: Connection, grant: TokenGrant, claims: IdentityClaims | None
    ) -> Connection:
        """Store refreshed tokens over `current` (VersionConflictError if someone wrote first).
        A refresh answer without a refresh token keeps the old one."""
        now = self._clock.now()
        refreshed = msgspec.structs.replace(
            current,
            tokens=self._seal(grant, previous=current.tokens),
            issued_at=now,
            expires_at=now + timedelta(seconds=grant.expires_in),
            last_refreshed_at=now,
            updated_at=now,
            username=claims.username if claims else current.username,
            email=claims.email if claims else current.email,
        )
        return await self._write(refreshed, current.version)

    async def mark_reauth_required(self, current: Connection) -> Connection:
        """The refresh token was rejected: no refresh is tried again until the user reconnects."""
        flagged = msgspec.structs.replace(
            current, status=ConnectionStatus.REAUTH_REQUIRED, updated_at=self._clock.now()
        )
        outbox = self._records(EventType.REAUTH_REQUIRED, flagged)
        stored = await self._write(flagged, current.version, outbox)
        metrics.CONNECTION_CHANGES.labels(ConnectionStatus.REAUTH_REQUIRED.value).inc()
        return stored

    async def set_identity_id(self, connection: Connection, identity_id: str) -> Connection:
        """Remember the user's Cognito identity id (versioned; retried over concurrent writes).

        An identity id another writer stored first for the same Cognito user wins; a connection
        replaced by another Cognito user in between raises VersionConflictError."""
        current = connection
        for _ in range(_WRITE_ATTEMPTS):
            if current.sub != connection.sub:
                break
            if current.identity_id is not None:
                return current
            updated = msgspec.structs.replace(
                current, identity_id=identity_id, updated_at=self._clock.now()
            )
            try:
                return await self._write(updated, current.version)
            except VersionConflictError:
                current = await self.get_from_store(connection.user_id)
        raise VersionConflictError(
            f"the connection of {connection.user_id!r} was replaced or kept changing"
        )

    async def delete(self, user_id: str) -> bool:
        """Delete the connection and its cache entries, on every replica; idempotent."""
        outbox = self._records(EventType.DELETED, user_id)
        deleted = await self._store.delete(user_id, self.provider, outbox=outbox)
        await self._cache.delete(connection_cache_key(user_id, self.provider))
        await self._layer.invalidate(connection_entry(user_id, self.provider))
        if deleted:
            metrics.CONNECTION_CHANGES.labels("deleted").inc()
        return deleted

    def open_tokens(self, connection: Connection) -> TokenSet:
        """Plaintext tokens, for the one request that needs them."""
        sealed = connection.tokens
        return TokenSet(
            access_token=self._cipher.open(sealed.access_token),
            id_token=self._cipher.open(sealed.id_token),
            refresh_token=self._cipher.open(sealed.refresh_token) if sealed.refresh_token else None,
            expires_at=connection.expires_at,
            scopes=connection.scopes,
        )

    async def record_event(self, event: EventType, about: Connection | str, **data: Any) -> None:
        """An event that changes no connection (a failed refresh, a refused sign-in), straight
        to the outbox."""
        if self._outbox is not None and (records := self._records(event, about, **data)):
            await self._outbox.add(records)

    def _records(
        self, event: EventType, about: Connection | str, **data: Any
    ) -> list[OutboxRecord]:
        if self._events is None:
            return []
        if isinstance(about, str):
            return self._events.records(
                event, about, {"provider": self.provider, "status": None, **data}
            )
        described = {
            "provider": about.provider,
            "status": about.status.value,
            "sub": about.sub,
            **data,
        }
        return self._events.records(event, about.user_id, described)

    async def _write(
        self,
        connection: Connection,
        expected_version: int | None,
        outbox: list[OutboxRecord] | None = None,
    ) -> Connection:
        stored = await self._store.put(
            connection, expected_version=expected_version, outbox=outbox or ()
        )
        await self._remember(stored)
        await self._layer.announce(connection_entry(stored.user_id, stored.provider))
        return stored

    async def _remember(self, connection: Connection) -> None:
        await self._cache.set(
            connection_cache_key(connection.user_id, connection.provider),
            msgspec.json.encode(connection),
            ttl=CONNECTION_CACHE_TTL,
        )
        self._hold(connection)

    def _hold(self, connection: Connection) -> None:
        self._layer.connections.put(
            connection_entry(connection.user_id, connection.provider),
            connection,
            self._layer.connection_ttl,
        )

    def seal(self, grant: TokenGrant) -> SealedTokens:
        """A code exchange's tokens, sealed (an ID token is required)."""
        return self._seal(grant, previous=None)

    def _seal(self, grant: TokenGrant, previous: SealedTokens | None) -> SealedTokens:
        seal = self._cipher.seal
        id_token = seal(grant.id_token) if grant.id_token else previous and previous.id_token
        if not id_token:
            raise ValueError("a new connection needs an ID token")
        refresh = seal(grant.refresh_token) if grant.refresh_token else None
        return SealedTokens(
            access_token=seal(grant.access_token),
            id_token=id_token,
            refresh_token=refresh or (previous.refresh_token if previous else None),
        )
