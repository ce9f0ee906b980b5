"""Readiness of the database and the cache, probed concurrently with a deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Literal

import msgspec

log = logging.getLogger(__name__)


class CheckStatus(StrEnum):
    OK = "ok"
    DOWN = "down"


class HealthReport(msgspec.Struct, frozen=True):
    database: CheckStatus
    cache: CheckStatus

    @property
    def status(self) -> Literal["ok", "degraded", "down"]:
        """`down` without a database; `degraded` without a cache (requests still succeed)."""
        if self.database is CheckStatus.DOWN:
            return "down"
        return "ok" if self.cache is CheckStatus.OK else "degraded"


class HealthService:
    """Pings each dependency; a probe that fails or overruns `timeout` reads `down`."""

    def __init__(
        self,
        database_ping: Callable[[], Awaitable[None]],
        cache_ping: Callable[[], Awaitable[None]],
        *,
        timeout: float = 1.0,
    ) -> None:
        self._database_ping = database_ping
        self._cache_ping = cache_ping
        self._timeout = timeout

    async def check(self) -> HealthReport:
        database, cache = await asyncio.gather(
            self._probe("database", self._database_ping), self._probe("cache", self._cache_ping)
        )
        return HealthReport(database=database, cache=cache)

    async def _probe(self, name: str, ping: Callable[[], Awaitable[None]]) -> CheckStatus:
        try:
            await asyncio.wait_for(ping(), self._timeout)
        except Exception as exc:  # noqa: BLE001 - any failure of a probe means "down"
            log.warning("health: %s is down (%s)", name, type(exc).__name__)
            return CheckStatus.DOWN
        return CheckStatus.OK
