"""Counts of the round trips a request makes, taken at the drivers: SQL statements, Redis
commands, AWS HTTP requests by service. Counting beats timing: a warm request must make none
but the rate limiter's one transaction, counted apart (`rate_limit`). A pipeline is one round
trip, whatever it holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.endpoint import Endpoint
from redis.asyncio.client import Pipeline, Redis
from sqlalchemy import event
from sqlalchemy.engine import Engine

from connector.adapters.rate_limiter import RATE_LIMIT_NAMESPACE


class RoundTrips:
    def __init__(self) -> None:
        self.sql = 0
        self.redis: Counter[str] = Counter()
        self.aws: Counter[str] = Counter()
        self.rate_limit = 0
        """Round trips of the rate limiter (not in `redis` nor in `total`)."""

    def reset(self) -> None:
        self.sql = 0
        self.redis.clear()
        self.aws.clear()
        self.rate_limit = 0

    @property
    def total(self) -> int:
        return self.sql + sum(self.redis.values()) + sum(self.aws.values())


def _is_rate_limit_hit(args: tuple[Any, ...]) -> bool:
    """EVAL(SHA) script numkeys key…: a rate-limit counter's key holds the limiter's namespace."""
    return (
        str(args[0]).upper() in {"EVAL", "EVALSHA"}
        and len(args) > 3
        and f"{RATE_LIMIT_NAMESPACE}:" in str(args[3])
    )


@contextmanager
def counting_round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    trips = RoundTrips()

    def on_statement(*_: Any) -> None:
        trips.sql += 1

    real_command = Redis.execute_command

    async def command(self: Redis, *args: Any, **options: Any) -> Any:
        if _is_rate_limit_hit(args):
            trips.rate_limit += 1
        else:
            trips.redis[str(args[0]).upper()] += 1
        return await real_command(self, *args, **options)

    real_execute = Pipeline.execute

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        if any(_is_rate_limit_hit(args) for args, _ in self.command_stack):
            trips.rate_limit += 1
        elif self.command_stack:
            trips.redis["PIPELINE"] += 1
        return await real_execute(self, raise_on_error)

    real_request = Endpoint.make_request

    def request(self: Endpoint, *args: Any, **kwargs: Any) -> Any:
        trips.aws[self._endpoint_prefix] += 1
        return real_request(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", command)
    monkeypatch.setattr(Pipeline, "execute", execute)
    monkeypatch.setattr(Endpoint, "make_request", request)
    event.listen(Engine, "before_cursor_execute", on_statement)
    try:
        yield trips
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)
