"""A circuit breaker: after a failure, skip a dependency for a while instead of paying its
timeout on every call, then let one call find out whether it is back.

    closed ──failure──> open ──interval elapsed, next call──> probing ──success──> closed
                         ^                                       │
                         └────────────────failure────────────────┘

While open (and while the probe runs) calls are refused at once. So a frozen dependency costs
one timeout per interval per process, not one per call. Single-threaded: it lives on one
event loop and holds no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class Admission(Enum):
    """What `admit` let a call do."""

    REFUSED = "refused"
    CALL = "call"
    PROBE = "probe"


class CircuitBreaker:
    """Closed until a failure; then open for `interval` seconds; then one probe at a time."""

    def __init__(self, interval: float, *, monotonic: Callable[[], float] = time.monotonic):
        if interval < 0:
            raise ValueError("interval must not be negative")
        self._interval = interval
        self._monotonic = monotonic
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        """True from a failure until a call succeeds again."""
        return self._opened_at is not None

    def admit(self) -> Admission:
        """Whether a call may go to the dependency now, and as what."""
        if self._opened_at is None:
            return Admission.CALL
        if self._probing or self._monotonic() - self._opened_at < self._interval:
            return Admission.REFUSED
        self._probing = True
        return Admission.PROBE

    def succeeded(self) -> None:
        """The dependency answered (an error answer counts: it is there)."""
        self._opened_at = None
        self._probing = False

    def failed(self) -> None:
        """The dependency did not answer: open (again) for a full interval."""
        self._opened_at = self._monotonic()
        self._probing = False

    def abandoned(self, admission: Admission) -> None:
        """A call ended with no verdict (cancelled): a probe hands its turn to the next call."""
        if admission is Admission.PROBE:
            self._probing = False
