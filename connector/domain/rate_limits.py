"""Rates, the counters that enforce them, and the scope classes requests are counted in."""

from __future__ import annotations

import math
from enum import StrEnum

import msgspec

from connector.domain.models import Scope


class ScopeClass(StrEnum):
    """Scopes grouped by what a request costs: each class has its own limits."""

    CONNECT = "connect"
    """Sign-in flows: each may end in a call to Cognito's token endpoint."""
    READ = "read"
    """Reads as the user: the connection, S3 and Lambda listings, object downloads, presign."""
    WRITE = "write"
    """Writes as the user: object uploads and deletes, Lambda invocations."""
    CREDENTIALS = "credentials"
    """Tokens and AWS credentials handed out (a cold one costs Cognito calls)."""


SCOPE_CLASSES: dict[Scope, ScopeClass] = {
    Scope.CONNECT: ScopeClass.CONNECT,
    Scope.CONNECTION_READ: ScopeClass.READ,
    Scope.S3_READ: ScopeClass.READ,
    Scope.LAMBDA_READ: ScopeClass.READ,
    Scope.S3_WRITE: ScopeClass.WRITE,
    Scope.LAMBDA_INVOKE: ScopeClass.WRITE,
    Scope.TOKEN_READ: ScopeClass.CREDENTIALS,
    Scope.CREDENTIALS_READ: ScopeClass.CREDENTIALS,
}
if set(SCOPE_CLASSES) != set(Scope):  # a new scope must be given a class
    raise RuntimeError("SCOPE_CLASSES does not cover every Scope")


def scope_class(scope: Scope | None) -> ScopeClass:
    """The class a request of `scope` counts in. Presign, whose scope depends on its body
    (`GET` or `PUT`), counts as a read: it only signs a URL, the bytes go to S3 directly."""
    return ScopeClass.READ if scope is None else SCOPE_CLASSES[scope]


class Rate(msgspec.Struct, frozen=True):
    """`amount` units per window of `seconds`."""

    amount: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.amount}/{self.seconds}s"


class Counter(msgspec.Struct, frozen=True):
    """One counter to hit: `name` identifies it (across replicas), `rate` bounds it, `policy`
    is the name callers see in the RateLimit fields."""

    name: str
    rate: Rate
    policy: str


class Usage(msgspec.Struct, frozen=True):
    """A counter's state right after a hit, in its current window."""

    counter: Counter
    used: int
    """Units counted in the window, this hit included (past `amount` once refused)."""
    reset_after: float
    """Seconds until the window ends and the counter starts again from zero."""

    @property
    def admitted(self) -> bool:
        return self.used <= self.counter.rate.amount

    @property
    def remaining(self) -> int:
        return max(0, self.counter.rate.amount - self.used)

    @property
    def reset_seconds(self) -> int:
        """`reset_after` in whole seconds, rounded up (never promises a reset too early)."""
        return max(0, math.ceil(self.reset_after))


def window_of(rate: Rate, now: float) -> tuple[int, float]:
    """The clock-aligned window `now` falls in (its index since the epoch) and the seconds it
    has left. Aligned windows let every replica name the same counter and know its reset
    without asking the store."""
    index = int(now // rate.seconds)
    return index, (index + 1) * rate.seconds - now
