"""The rate-limit service and the Cognito budget over the fake limiter: who counts against
what, what a refusal says, and what happens when the counters' store is down."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from support.fakes import FakeRateLimiter

from connector.domain.rate_limits import Rate, ScopeClass
from connector.errors import ErrorCode, RateLimitedError, UpstreamUnavailableError
from connector.services.cognito_budget import CognitoBudget
from connector.services.outage_log import OutageLog
from connector.services.rate_limits import RateLimits, user_tag
from connector.settings import RateLimitSettings

READ, WRITE = ScopeClass.READ, ScopeClass.WRITE


class Clock:
    def __init__(self) -> None:
        self.now = 1_699_920_030.0  # 30 s into a minute

    def __call__(self) -> float:
        return self.now


def limits_of(per_key: int = 5, per_user: int = 2, *, enabled: bool = True) -> RateLimitSettings:
    defaults = RateLimitSettings()
    return RateLimitSettings(
        enabled=enabled,
        per_key={**defaults.per_key, READ: Rate(per_key, 60)},
        per_user={**defaults.per_user, READ: Rate(per_user, 60)},
    )


def service(
    limiter: FakeRateLimiter,
    settings: RateLimitSettings | None = None,
    *,
    on_unchecked: Callable[[str], None] = lambda _: None,
) -> RateLimits:
    return RateLimits(
        limiter, settings or limits_of(), outages=OutageLog(), on_unchecked=on_unchecked
    )


async def test_a_request_counts_once_per_key_and_once_per_key_and_user() -> None:
    limiter = FakeRateLimiter(Clock())
    verdict = await service(limiter).check("k1", "alice", READ)
    assert verdict.admitted
    assert [(u.counter.policy, u.remaining, u.reset_seconds) for u in verdict.usages] == [
        ("read-per-key", 4, 30),
        ("read-per-user", 1, 30),
    ]
    assert limiter.hits == 1  # both counters in one call


async def test_a_request_without_a_user_counts_against_the_key_only() -> None:
    verdict = await service(FakeRateLimiter()).check("k1", None, READ)
    assert [u.counter.policy for u in verdict.usages] == ["read-per-key"]


async def test_one_user_over_its_limit_does_not_stop_another_user_of_the_key() -> None:
    limits = service(FakeRateLimiter())
    for _ in range(2):
        await limits.admit("k1", "alice", READ)
    with pytest.raises(RateLimitedError) as refused:
        await limits.admit("k1", "alice", READ)
    assert refused.value.details["limit"] == "read-per-user"
    assert (await limits.check("k1", "bob", READ)).admitted


async def test_rotating_user_ids_does_not_escape_the_key_limit() -> None:
    limits = service(FakeRateLimiter())
    verdicts = [await limits.check("k1", f"user-{n}", READ) for n in range(8)]
    assert [v.admitted for v in verdicts] == [True] * 5 + [False] * 3
    assert verdicts[-1].refusal().details["limit"] == "read-per-key"


async def test_a_key_over_its_limit_does_not_stop_another_key() -> None:
    limits = service(FakeRateLimiter())
    for n in range(6):
        await limits.check("k1", f"user-{n}", READ)
    assert not (await limits.check("k1", "alice", READ)).admitted
    assert (await limits.check("k2", "alice", READ)).admitted


async def test_scope_classes_count_apart() -> None:
    limits = service(FakeRateLimiter())
    for _ in range(2):
        await limits.check("k1", "alice", READ)
    assert not (await limits.check("k1", "alice", READ)).admitted
    assert (await limits.check("k1", "alice", WRITE)).admitted


async def test_a_refusal_is_rate_limited_retryable_when_the_window_ends() -> None:
    clock = Clock()
    limits = service(FakeRateLimiter(clock))
    await limits.check("k1", "alice", READ)
    await limits.check("k1", "alice", READ)
    clock.now += 12.5  # 17.5 s left in the window
    with pytest.raises(RateLimitedError) as refused:
        await limits.admit("k1", "alice", READ)
    error = refused.value
    assert error.error_code is ErrorCode.RATE_LIMITED
    assert error.retry_after == 18  # rounded up: never an invitation to retry too early
    assert error.details == {"limit": "read-per-user", "retryable": True, "retryAfter": 18}
    clock.now += 17.5
    assert (await limits.check("k1", "alice", READ)).admitted


async def test_no_user_id_is_part_of_a_counter_name() -> None:
    counters = service(FakeRateLimiter()).counters("k1", "alice@example.com", READ)
    assert all("alice" not in c.name for c in counters)
    assert counters[1].name == f"user:k1:{user_tag('alice@example.com')}:read"
    assert user_tag("alice@example.com") != user_tag("alice@example.co")


async def test_with_limits_off_nothing_is_counted() -> None:
    limiter = FakeRateLimiter()
    verdict = await service(limiter, limits_of(enabled=False)).check("k1", "alice", READ)
    assert (verdict.admitted, verdict.usages, limiter.hits) == (True, (), 0)


async def test_when_the_store_is_down_requests_pass_unchecked_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter, counted = FakeRateLimiter(), []
    limits = service(limiter, on_unchecked=counted.append)
    limiter.down = True
    with caplog.at_level(logging.WARNING, logger="connector.outages"):
        verdicts = [await limits.admit("k1", "alice", READ) for _ in range(10)]
    assert all(v.admitted and not v.usages for v in verdicts)
    assert (limits.unchecked, counted) == (10, ["requests"] * 10)
    assert [r.getMessage() for r in caplog.records] == [
        "cache unavailable; rate limits not checked, requests pass:"
        " CacheUnavailableError: rate-limit store unavailable"
    ]


async def test_a_cognito_call_over_budget_is_refused_before_it_is_made() -> None:
    clock = Clock()
    clock.now = 1_699_920_030.4
    budget = CognitoBudget(FakeRateLimiter(clock), {"GetId": Rate(2, 1)}, outages=OutageLog())
    await budget.spend("GetId")
    await budget.spend("GetId")
    with pytest.raises(UpstreamUnavailableError) as refused:
        await budget.spend("GetId")
    assert refused.value.retry_after == 1
    assert refused.value.details["upstream"] == "cognito:GetId"
    clock.now += 0.6  # the next second
    await budget.spend("GetId")


async def test_an_operation_without_a_budget_is_not_counted() -> None:
    limiter = FakeRateLimiter()
    await CognitoBudget(limiter, {"GetId": Rate(1, 1)}, outages=OutageLog()).spend("other")
    assert limiter.hits == 0


async def test_cognito_calls_pass_counted_when_the_store_is_down() -> None:
    limiter, counted = FakeRateLimiter(), []
    budget = CognitoBudget(
        limiter, {"GetId": Rate(1, 1)}, outages=OutageLog(), on_unchecked=counted.append
    )
    limiter.down = True
    for _ in range(3):
        await budget.spend("GetId")
    assert (budget.unchecked, counted) == (3, ["cognito"] * 3)
