"""Clocks for the stand-in: epoch seconds as a float, injectable so tests never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Returns the current time as epoch seconds."""

system_clock: Clock = time.time


class ManualClock:
    """A clock that moves only when told to: `advance(3601)` expires a one-hour token."""

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self._now += seconds

    def set(self, now: float) -> None:
        """Jump to an absolute time."""
        self._now = now
