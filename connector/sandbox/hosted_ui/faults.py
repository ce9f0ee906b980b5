"""Failure injection: make the next N calls to an endpoint fail, as an unreachable Cognito would."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

Endpoint = Literal["token", "revoke", "userinfo", "jwks"]


@dataclass(frozen=True, slots=True)
class InjectedFailure:
    """The answer an injected failure gives: `{"error": error}` as JSON, or a bare text body."""

    status: int
    error: str | None = None


class FaultPlan:
    """Queues of failures per endpoint, consumed one per request before any other processing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[InjectedFailure]] = {}

    def fail_next(
        self, endpoint: Endpoint, count: int = 1, *, status: int = 503, error: str | None = None
    ) -> None:
        """Fail the next `count` requests to `endpoint` with `status` (and an OAuth `error`)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        if not 400 <= status <= 599:
            raise ValueError("an injected failure needs a 4xx or 5xx status")
        with self._lock:
            self._queues.setdefault(endpoint, deque()).extend(
                [InjectedFailure(status, error)] * count
            )

    def take(self, endpoint: Endpoint) -> InjectedFailure | None:
        with self._lock:
            queue = self._queues.get(endpoint)
            return queue.popleft() if queue else None

    def pending(self, endpoint: Endpoint) -> int:
        with self._lock:
            return len(self._queues.get(endpoint, ()))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
