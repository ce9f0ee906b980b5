"""Limits that hold across replicas: three connector instances on the real PostgreSQL and Redis
(a key prefix of their own) share each rate limit and each Cognito budget, so what the three
admit together is the limit, and what reaches Cognito is the budget, never three times it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.endpoint import Endpoint
from support.aws_world import connect_alice, headers
from support.oauth_world import CognitoWorld, Instance, query_of
from support.replicas import clear_of_window_end, empty_tables, shared_world

from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet

REPLICAS = 3
DAY = 86400
# The shared Redis of a busy machine may take longer than the production timeout (0.25 s); a
# check it missed would pass unchecked (by design, tests/faults) and blur the counts here.
PATIENT = {"CONNECTOR_REDIS_SOCKET_TIMEOUT": "3", "CONNECTOR_REDIS_CONNECT_TIMEOUT": "3"}


@pytest.fixture
async def stack(postgres_url: str) -> AsyncIterator[AsyncExitStack]:
    await empty_tables(postgres_url)
    async with AsyncExitStack() as opened:
        yield opened


@pytest.fixture(autouse=True)
def one_window() -> None:
    """Day-long windows are crossed by a run only near midnight UTC: that is waited out."""
    clear_of_window_end(DAY)


async def replicas_of(world: CognitoWorld) -> list[Instance]:
    return [await world.instance() for _ in range(REPLICAS)]


def unchecked(replicas: list[Instance]) -> int:
    """Checks skipped because Redis did not answer, over the replicas (must be none)."""
    return sum(r.container.services.rate_limits.unchecked for r in replicas)


async def test_three_replicas_admit_one_key_limit_together(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(
        stack,
        postgres_url,
        redis_prefix,
        pool_keys,
        CONNECTOR_RATE_LIMITS_PER_KEY="read=30/day",
        **PATIENT,
    )
    replicas = await replicas_of(world)
    key = await world.key(replicas[0], "connection:read")

    answers = await asyncio.gather(
        *(
            replicas[n % REPLICAS].client.get("/connection", headers=headers(key, f"user-{n}"))
            for n in range(90)
        )
    )

    statuses = Counter(a.status_code for a in answers)
    assert unchecked(replicas) == 0
    assert statuses == {404: 30, 429: 60}  # not connected, but admitted; then refused
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == ErrorCode.RATE_LIMITED
    assert int(refused.headers["Retry-After"]) >= 1
    remaining = sorted(
        int(a.headers["RateLimit"].split("r=")[1].split(";")[0])
        for a in answers
        if a.status_code == 404
    )
    assert remaining == list(range(30))  # each admitted request saw its own count


async def test_three_replicas_admit_one_user_limit_together(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(
        stack,
        postgres_url,
        redis_prefix,
        pool_keys,
        CONNECTOR_RATE_LIMITS_PER_USER="read=10/day",
        **PATIENT,
    )
    replicas = await replicas_of(world)
    await connect_alice(world, replicas[0])
    key = await world.key(replicas[0], "connection:read")

    answers = await asyncio.gather(
        *(replicas[n % REPLICAS].client.get("/connection", headers=headers(key)) for n in range(45))
    )

    assert unchecked(replicas) == 0
    assert Counter(a.status_code for a in answers) == {200: 10, 429: 35}
    bob = await replicas[2].client.get("/connection", headers=headers(key, "bob"))
    assert bob.status_code == 404  # another user of the key is not held back


async def test_the_token_endpoint_budget_holds_across_three_replicas(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(
        stack,
        postgres_url,
        redis_prefix,
        pool_keys,
        CONNECTOR_COGNITO_BUDGETS="token=4/day",
        **PATIENT,
    )
    replicas = await replicas_of(world)
    key = await world.key(replicas[0], "connect")

    async def sign_in(n: int) -> dict[str, str]:
        answer = await world.connect(replicas[n % REPLICAS], key, user_id=f"app-user-{n}")
        assert answer.status_code == 302, answer.text
        return query_of(answer.headers["location"])

    outcomes = await asyncio.gather(*(sign_in(n) for n in range(8)))

    assert world.hosted_ui.stats.token_requests == 4  # what reached the token endpoint
    assert Counter(o.get("status") or o["error"] for o in outcomes) == {
        "connected": 4,
        ErrorCode.UPSTREAM_UNAVAILABLE: 4,
    }


class OperationCounter:
    """Counts the AWS operations that leave the process (to moto), by name."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()


@pytest.fixture
def operations(monkeypatch: pytest.MonkeyPatch) -> OperationCounter:
    counter = OperationCounter()
    real = Endpoint.make_request

    def make_request(self: Endpoint, operation_model: Any, request_dict: Any) -> Any:
        counter.sent[operation_model.name] += 1
        return real(self, operation_model, request_dict)

    monkeypatch.setattr(Endpoint, "make_request", make_request)
    return counter


async def test_the_get_id_budget_holds_across_three_replicas(
    *,
    stack: AsyncExitStack,
    postgres_url: str,
    redis_prefix: str,
    pool_keys: KeySet,
    aws: dict[str, Any],
    operations: OperationCounter,
) -> None:
    world = shared_world(
        stack,
        postgres_url,
        redis_prefix,
        pool_keys,
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_COGNITO_BUDGETS="GetId=2/day",
        **PATIENT,
    )
    replicas = await replicas_of(world)
    key = await world.key(replicas[0], "connect", "credentials:read")
    users = [f"app-user-{n}" for n in range(6)]
    for n, user in enumerate(users):
        signed_in = await world.connect(replicas[n % REPLICAS], key, user_id=user)
        assert urlsplit(signed_in.headers["location"]).query.startswith("status=connected")

    answers = await asyncio.gather(
        *(
            replicas[n % REPLICAS].client.get("/credentials", headers=headers(key, user))
            for n, user in enumerate(users)
        )
    )

    assert operations.sent["GetId"] == 2  # the budget, not one per replica nor per user
    assert Counter(a.status_code for a in answers) == {200: 2, 503: 4}
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.json()["code"] == ErrorCode.UPSTREAM_UNAVAILABLE
    assert refused.json()["details"]["upstream"] == "cognito:GetId"
    assert int(refused.headers["Retry-After"]) >= 1
