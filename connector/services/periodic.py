"""Background work on a timer (the pending-grant sweeper): started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from connector.errors import ConnectorError

log = logging.getLogger(__name__)
_WARN_EVERY = 60.0


@contextlib.asynccontextmanager
async def every(
    interval: float, work: Callable[[], Awaitable[object]], *, name: str
) -> AsyncIterator[None]:
    """Run `work` now and then every `interval` seconds while the block runs. A failure is
    logged (at most once a minute: an outage must not flood the log) and the timer goes on."""

    async def loop() -> None:
        warned_at = -_WARN_EVERY
        while True:
            try:
                await work()
            except ConnectorError as exc:
                if time.monotonic() - warned_at >= _WARN_EVERY:
                    warned_at = time.monotonic()
                    log.warning("%s failed: %s: %s", name, exc.error_code, exc.message)
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
