"""Budgets of calls to Cognito shared by every replica, under Cognito's own quotas: a call over
budget is refused here (retryable) instead of being throttled, or counted, by AWS."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connector.domain.ports import RateLimiter
from connector.domain.rate_limits import Counter, Rate
from connector.errors import CacheUnavailableError, UpstreamUnavailableError
from connector.services.outage_log import OutageLog

UNCHECKED_CALLS = "cache unavailable; Cognito budgets not checked, calls pass"


class CognitoBudget:
    """The UpstreamBudget port for Cognito: one counter per operation, windows of its rate.

    Operations without a budget pass. When the counters' store does not answer, calls pass
    (logged, counted): Cognito's own throttling is then the only bound, which is better than
    refusing every sign-in during a cache outage.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        budgets: Mapping[str, Rate],
        *,
        outages: OutageLog,
        on_unchecked: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._limiter = limiter
        self._counters = {
            operation: Counter(name=f"cognito:{operation}", rate=rate, policy=operation)
            for operation, rate in budgets.items()
        }
        self._outages = outages
        self._on_unchecked = on_unchecked
        self.unchecked = 0
        """Calls let through unchecked because the store did not answer (since start)."""

    async def spend(self, operation: str) -> None:
        """Take one call of `operation`'s budget, or raise UPSTREAM_UNAVAILABLE (retryable)."""
        counter = self._counters.get(operation)
        if counter is None:
            return
        try:
            [usage] = await self._limiter.hit([counter])
        except CacheUnavailableError as exc:
            self.unchecked += 1
            self._on_unchecked("cognito")
            self._outages.failed(UNCHECKED_CALLS, exc.__cause__ or exc)
            return
        self._outages.recovered("cache recovered")
        if not usage.admitted:
            rate = counter.rate
            raise UpstreamUnavailableError(
                f"the connector's budget of Cognito {operation} calls ({rate.amount} per"
                f" {rate.seconds} s, all replicas) is spent; retry shortly",
                retry_after=max(1, usage.reset_seconds),
                details={"upstream": f"cognito:{operation}"},
            )
