"""This replica's in-process entries (API keys, connections, AWS credentials) and the bus that
keeps every replica's entries in step when one of them changes something."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from connector.domain.aws import AwsCredentials
from connector.domain.models import ApiKey, Connection
from connector.domain.ports import InvalidationBus
from connector.domain.providers import DEFAULT_PROVIDER, scoped
from connector.errors import CacheUnavailableError
from connector.services.local_cache import LocalCache

log = logging.getLogger(__name__)

KEY_TTL = 5.0
"""An API key is re-read from the store at least this often: the bound on a revocation that
an unsubscribed replica (Redis down, or memory://) has not heard of."""
CONNECTION_TTL = 10.0
"""The same bound for a connection changed by another replica while the bus was down."""
MAX_ENTRIES = 10_000
_WARN_EVERY = 60.0


def key_entry(key_id: str) -> str:
    return f"key:{key_id}"


def connection_entry(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("conn", user_id, provider)


def credentials_entry(user_id: str, provider: str = DEFAULT_PROVIDER) -> str:
    return scoped("creds", user_id, provider)


class ProcessLayer:
    """Three bounded LRU layers and one way to change them: `invalidate(name)` evicts the
    entry here and announces it to the other replicas; what they announce arrives through
    `listen`. A lost subscription flushes everything (pub/sub drops messages meanwhile)."""

    def __init__(
        self,
        bus: InvalidationBus | None = None,
        *,
        key_ttl: float = KEY_TTL,
        connection_ttl: float = CONNECTION_TTL,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.keys: LocalCache[ApiKey] = LocalCache(max_entries=max_entries, kind="key")
        self.connections: LocalCache[Connection] = LocalCache(max_entries=max_entries, kind="conn")
        self.credentials: LocalCache[AwsCredentials] = LocalCache(
            max_entries=max_entries, kind="creds"
        )
        self.key_ttl = key_ttl
        self.connection_ttl = connection_ttl
        self._bus = bus
        self._by_kind: dict[str, LocalCache[Any]] = {
            "key": self.keys,
            "conn": self.connections,
            "creds": self.credentials,
        }
        self._warned_at = -_WARN_EVERY
        self.flushes = 0

    async def invalidate(self, name: str) -> None:
        """Drop `name` here and on every replica (best effort: when the cache is down, the
        other replicas' TTLs bound how long they keep it)."""
        self.evict(name)
        await self.announce(name)

    async def announce(self, name: str) -> None:
        """Tell the other replicas to drop `name` (this replica has just written it anew)."""
        if self._bus is None:
            return
        try:
            await self._bus.publish(name)
        except CacheUnavailableError:
            if time.monotonic() - self._warned_at >= _WARN_EVERY:
                self._warned_at = time.monotonic()
                log.warning("could not announce a change to the other replicas (cache down)")

    def evict(self, name: str) -> None:
        kind, _, _ = name.partition(":")
        layer = self._by_kind.get(kind)
        if layer is not None:
            layer.evict(name)

    def clear(self) -> None:
        self.flushes += 1
        for layer in self._by_kind.values():
            layer.clear()

    async def close(self) -> None:
        if self._bus is not None:
            await self._bus.close()

    async def listen(self) -> None:
        """Apply the other replicas' announcements until cancelled (nothing to do without a
        bus: one process evicts its own entries directly)."""
        if self._bus is None:
            await asyncio.Event().wait()
            return
        await self._bus.listen(self.evict, self.clear)
