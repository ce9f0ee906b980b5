"""Outage warnings at a bounded rate: an outage under load must not flood the logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

_log = logging.getLogger("connector.outages")


class OutageLog:
    """At most one WARNING per `interval` seconds (the next one says how many failures it kept
    quiet about), and one INFO when the dependency answers again after a warned outage.

    Share one OutageLog among everything that meets the same dependency (the tolerant cache and
    the locks on that cache), so one outage is one warning, not one per component or request.
    """

    def __init__(
        self,
        *,
        interval: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._log = logger or _log
        self._last_warning_at: float | None = None
        self._suppressed = 0
        # True between a warning and the INFO that closes it, so a flapping dependency logs at
        # most one WARNING and one INFO per interval.
        self._reported = False

    def failed(self, what: str, cause: BaseException | str) -> None:
        """One failure: `what` says what failed and what is done instead, `cause` why (an
        exception's type and text, which must hold no secret)."""
        now = self._monotonic()
        if self._last_warning_at is not None and now - self._last_warning_at < self._interval:
            self._suppressed += 1
            return
        reason = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else cause
        quiet = (
            f" ({self._suppressed} more failures since the last warning)"
            if self._suppressed
            else ""
        )
        self._log.warning("%s%s: %s", what, quiet, reason)
        self._last_warning_at = now
        self._suppressed = 0
        self._reported = True

    def recovered(self, what: str) -> None:
        """The dependency answered: INFO `what`, once after each warned outage."""
        if self._reported:
            self._reported = False
            self._log.info("%s", what)
