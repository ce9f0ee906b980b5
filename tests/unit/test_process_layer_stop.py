"""Closing the container never hangs on the invalidation listener: a listener whose cancellation
does not finish (as a Redis client once swallowed it) is given a bounded wait, then its bus is
closed under it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector import bootstrap
from connector.services.process_layer import ProcessLayer
from connector.settings import Settings


class StubbornBus:
    """Ignores cancellation while listening; only its own close ends the listen."""

    def __init__(self) -> None:
        self.closed = False
        self.cancellations = 0

    async def publish(self, name: str) -> None:
        return None

    async def listen(self, on_evict: Callable[[str], None], on_lost: Callable[[], None]) -> None:
        while not self.closed:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                self.cancellations += 1  # lost, as inside a client that swallowed it

    async def close(self) -> None:
        self.closed = True


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )


async def test_a_listener_that_ignores_its_cancellation_delays_closing_by_the_bound_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bootstrap, "LISTENER_STOP_SECONDS", 0.2)
    bus = StubbornBus()
    stack = AsyncExitStack()
    await bootstrap.open_process_layer(_settings(tmp_path), stack, layer=ProcessLayer(bus))
    await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.wait_for(stack.aclose(), timeout=5)
    elapsed = time.monotonic() - started

    assert bus.cancellations == 1
    assert bus.closed
    assert 0.2 <= elapsed < 1.5
    assert "still running" in caplog.text
    await asyncio.sleep(0.05)  # the listener sees its bus closed and ends
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "invalidation listener"]


async def test_a_listener_that_stops_when_cancelled_is_closed_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stack = AsyncExitStack()
    await bootstrap.open_process_layer(_settings(tmp_path), stack, layer=ProcessLayer())
    started = time.monotonic()
    await stack.aclose()
    assert time.monotonic() - started < 0.5
    assert "still running" not in caplog.text
