"""Request limits per API key and per (key, user), by scope class, on counters every replica
shares. Checked once per request (or JSON-RPC call, or tool call) by the transport; when the
counters' store does not answer, requests pass unchecked (logged, counted)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from connector.domain.ports import RateLimiter
from connector.domain.rate_limits import Counter, ScopeClass, Usage
from connector.errors import CacheUnavailableError, RateLimitedError
from connector.services.outage_log import OutageLog
from connector.settings import RateLimitSettings

UNCHECKED_REQUESTS = "cache unavailable; rate limits not checked, requests pass"
RECOVERED = "cache recovered"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The counters one request hit and what they say; no counter when none was checked
    (limits off, or the store down)."""

    usages: tuple[Usage, ...] = ()

    @property
    def admitted(self) -> bool:
        return all(u.admitted for u in self.usages)

    def refusal(self) -> RateLimitedError:
        """RATE_LIMITED naming the tightest exceeded limit, retryable when its window ends."""
        refused = [u for u in self.usages if not u.admitted]
        worst = max(refused, key=lambda u: u.reset_after)
        rate = worst.counter.rate
        retry_after = max(1, worst.reset_seconds)
        return RateLimitedError(
            f"rate limit reached: {rate.amount} requests per {rate.seconds} s"
            f" ({worst.counter.policy}); retry after {retry_after} s",
            retry_after=retry_after,
            details={"limit": worst.counter.policy},
        )


UNCHECKED = Verdict()


def user_tag(user_id: str) -> str:
    """A user's part of a counter name: a digest, so no user id (often an email) is a key
    name in Redis, and every name has the same length."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]


class RateLimits:
    """The transport's one check per request; `admit` is the same check for transports that
    are not HTTP (JSON-RPC calls, MCP tool calls)."""

    def __init__(
        self,
        limiter: RateLimiter,
        settings: RateLimitSettings,
        *,
        outages: OutageLog,
        on_unchecked: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._limiter = limiter
        self._settings = settings
        self._outages = outages
        self._on_unchecked = on_unchecked
        self.unchecked = 0
        """Requests let through unchecked because the store did not answer (since start)."""

    def counters(self, key_id: str, user_id: str | None, scope: ScopeClass) -> list[Counter]:
        """What a request of `scope` for this key (and user) counts against."""
        counters = [
            Counter(
                name=f"key:{key_id}:{scope}",
                rate=self._settings.per_key[scope],
                policy=f"{scope}-per-key",
            )
        ]
        if user_id is not None:
            counters.append(
                Counter(
                    name=f"user:{key_id}:{user_tag(user_id)}:{scope}",
                    rate=self._settings.per_user[scope],
                    policy=f"{scope}-per-user",
                )
            )
        return counters

    async def check(self, key_id: str, user_id: str | None, scope: ScopeClass) -> Verdict:
        """Count one request against the key's (and the key and user's) limits for `scope`;
        the verdict says whether it is admitted. Never raises for the store: when it does not
        answer, the request passes unchecked."""
        if not self._settings.enabled:
            return UNCHECKED
        try:
            usages = await self._limiter.hit(self.counters(key_id, user_id, scope))
        except CacheUnavailableError as exc:
            self.unchecked += 1
            self._on_unchecked("requests")
            self._outages.failed(UNCHECKED_REQUESTS, exc.__cause__ or exc)
            return UNCHECKED
        self._outages.recovered(RECOVERED)
        return Verdict(tuple(usages))

    async def admit(self, key_id: str, user_id: str | None, scope: ScopeClass) -> Verdict:
        """`check`, raising RATE_LIMITED (with retry_after) when the request is over a limit."""
        verdict = await self.check(key_id, user_id, scope)
        if not verdict.admitted:
            raise verdict.refusal()
        return verdict
