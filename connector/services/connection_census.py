"""How many connections are in each status, for the `connector_connections` gauge of /metrics:
counted by the store of record, at most once per `ttl` however often it is scraped.

A gauge kept by increments would be wrong under several workers and replicas (each sees only its
own changes, and a restart forgets them); the store knows. Counting is bounded: a scrape waits at
most `timeout` for it, and never fails because the store is down or slow — the gauge is left out
of that scrape and `connector_connection_count_failures_total{reason}` counts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime

from connector import metrics
from connector.domain.models import ConnectionStatus
from connector.domain.ports import Clock, ConnectionStore

log = logging.getLogger(__name__)
COUNT_TTL_SECONDS = 60.0
"""A count serves this long (an s3:// store reads every connection to count them)."""
COUNT_TIMEOUT_SECONDS = 3.0
"""A scrape waits this long for a count (Prometheus' own scrape timeout is 10 s by default)."""


class ConnectionCensus:
    """The store's `count_by_status`, remembered for `ttl` seconds. One count runs at a time in
    the process, shared by every scrape waiting for it; a scrape that stops waiting (timeout)
    leaves it running, and its result serves the scrapes after it."""

    def __init__(
        self,
        store: ConnectionStore,
        clock: Clock,
        *,
        ttl: float = COUNT_TTL_SECONDS,
        timeout: float = COUNT_TIMEOUT_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._timeout = timeout
        self._counts: dict[str, int] | None = None
        self._counted_at: datetime | None = None
        self._counting: asyncio.Task[dict[str, int] | None] | None = None

    async def by_status(self) -> Mapping[str, int] | None:
        """Connections per status (every status, 0 included), at most `ttl` seconds old; None
        when the store did not answer in time or failed (counted, logged)."""
        if self._counts is not None and self._fresh():
            return self._counts
        if self._counting is None:
            self._counting = asyncio.create_task(self._count(), name="connection census")
        try:
            return await asyncio.wait_for(asyncio.shield(self._counting), self._timeout)
        except TimeoutError:
            metrics.CONNECTION_COUNT_FAILURES.labels("timeout").inc()
            return None

    async def close(self) -> None:
        """Stop a count still running (at shutdown)."""
        if self._counting is not None:
            self._counting.cancel()
            await asyncio.gather(self._counting, return_exceptions=True)

    def _fresh(self) -> bool:
        if self._counted_at is None:
            return False
        elapsed = (self._clock.now() - self._counted_at).total_seconds()
        return 0 <= elapsed < self._ttl

    async def _count(self) -> dict[str, int] | None:
        try:
            counted = await self._store.count_by_status()
        except Exception as exc:  # noqa: BLE001 - whatever the store raises, a scrape answers
            metrics.CONNECTION_COUNT_FAILURES.labels("error").inc()
            log.warning("could not count connections by status: %s", _reason(exc))
            return None
        finally:
            self._counting = None
        counts = {status.value: counted.get(status, 0) for status in ConnectionStatus}
        self._counts, self._counted_at = counts, self._clock.now()
        return counts


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or type(exc).__name__)
