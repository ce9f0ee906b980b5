"""Sign-ins waiting for the app's confirmation: one-time, short-lived, swept when abandoned."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import msgspec

from connector.domain.oauth import PendingGrant
from connector.domain.ports import Cache, Clock

CONFIRMATION_TTL = timedelta(seconds=60)
# The record outlives its confirmation window so that the sweeper still finds the refresh
# token to revoke after an outage; the cache's own expiry is only the last resort.
_RECORD_TTL = timedelta(hours=1)
_INDEX = "oauth:grants:by-expiry"
_decoder = msgspec.json.Decoder(PendingGrant)


def _digest(confirmation: str) -> str:
    # The cache holds the hash of a confirmation, never the confirmation itself.
    return hashlib.sha256(confirmation.encode("utf-8", "surrogatepass")).hexdigest()


def _record_key(digest: str) -> str:
    return f"oauth:grant:{digest}"


class PendingGrants:
    """Grants held in the cache under the hash of a fresh one-time confirmation, indexed by
    expiry. `take` is atomic across replicas (GETDEL): a confirmation is consumed once, by one
    caller, before anything is compared. The cache must answer: these calls raise
    CacheUnavailableError rather than silently lose a grant."""

    def __init__(self, cache: Cache, clock: Clock) -> None:
        self._cache = cache
        self._clock = clock

    def expiry(self) -> timedelta:
        return CONFIRMATION_TTL

    async def hold(self, grant: PendingGrant) -> str:
        """Keep `grant`; return its confirmation (shown once, to the browser's return URL)."""
        confirmation = secrets.token_urlsafe(32)
        digest = _digest(confirmation)
        await self._cache.set(
            _record_key(digest), msgspec.json.encode(grant), ttl=_RECORD_TTL.total_seconds()
        )
        await self._cache.index_add(_INDEX, digest, grant.expires_at.timestamp())
        return confirmation

    async def take(self, confirmation: str) -> PendingGrant | None:
        """The grant of this confirmation, consumed; None when unknown or already taken."""
        digest = _digest(confirmation)
        return await self._take(digest)

    async def take_expired(self, *, limit: int = 100) -> list[PendingGrant]:
        """Grants whose confirmation window has closed, consumed (for the sweeper)."""
        now = self._clock.now().timestamp()
        taken = []
        for digest in await self._cache.index_due(_INDEX, now, limit=limit):
            grant = await self._take(digest)
            if grant is not None:
                taken.append(grant)
        return taken

    async def _take(self, digest: str) -> PendingGrant | None:
        raw = await self._cache.pop(_record_key(digest))
        await self._cache.index_remove(_INDEX, digest)
        return None if raw is None else _decoder.decode(raw)
