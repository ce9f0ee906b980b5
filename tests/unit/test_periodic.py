"""Background work on a timer: it runs, survives failures (logged once a minute), and stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connector.errors import CacheUnavailableError
from connector.services.periodic import every


async def test_work_runs_at_once_and_then_on_every_tick() -> None:
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1

    async with every(0.01, work, name="ticker"):
        await asyncio.sleep(0.1)
    stopped_at = runs
    await asyncio.sleep(0.05)

    assert runs >= 3
    assert runs == stopped_at  # nothing runs once the block has ended


async def test_a_failing_tick_is_logged_once_and_the_timer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        raise CacheUnavailableError("cache unavailable")

    with caplog.at_level(logging.WARNING, logger="connector.services.periodic"):
        async with every(0.01, work, name="sweeper"):
            await asyncio.sleep(0.1)

    assert runs >= 3
    warnings = [r for r in caplog.records if r.name == "connector.services.periodic"]
    assert len(warnings) == 1
    assert "sweeper failed: INTERNAL_ERROR" in warnings[0].getMessage()
