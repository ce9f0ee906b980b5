"""The invalidation bus on the real Redis: announcements reach the other replicas, not the
sender, and never cross to another deployment's prefix."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from connector.adapters.redis_bus import RedisInvalidationBus, create_bus

REDIS_URL = "redis://127.0.0.1:6379/0"
DELIVERY = 5.0  # seconds an announcement may take on a loaded machine


class Listener:
    def __init__(self, bus: RedisInvalidationBus) -> None:
        self.bus = bus
        self.evicted: list[str] = []
        self.lost = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.bus.listen(self.evicted.append, self._lost))

    def _lost(self) -> None:
        self.lost += 1

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.bus.close()


def open_bus(prefix: str) -> RedisInvalidationBus:
    bus = create_bus(REDIS_URL, prefix=prefix, connect_timeout=1.0)
    assert bus is not None
    return bus


@pytest.fixture
async def listeners() -> AsyncIterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        await listener.stop()


async def started(listeners: list[Listener], prefix: str) -> Listener:
    listener = Listener(open_bus(prefix))
    listener.start()
    listeners.append(listener)
    await asyncio.sleep(0.3)  # subscribed before anything is published
    return listener


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(DELIVERY):
        while not condition():  # noqa: ASYNC110 - polls another task's observations
            await asyncio.sleep(0.01)


async def test_an_announcement_reaches_the_other_replicas_but_not_the_sender(
    listeners: list[Listener],
) -> None:
    prefix = f"connector-test-{secrets.token_hex(6)}:"
    sender = await started(listeners, prefix)
    first = await started(listeners, prefix)
    second = await started(listeners, prefix)

    await sender.bus.publish("conn:alice")

    await until(lambda: first.evicted == ["conn:alice"] and second.evicted == ["conn:alice"])
    await asyncio.sleep(0.2)
    assert sender.evicted == []
    assert (first.lost, second.lost) == (0, 0)


async def test_another_prefix_hears_nothing(listeners: list[Listener]) -> None:
    ours = await started(listeners, f"connector-test-{secrets.token_hex(6)}:")
    theirs = await started(listeners, f"connector-test-{secrets.token_hex(6)}:")
    publisher = open_bus(f"connector-test-{secrets.token_hex(6)}:")
    try:
        await theirs.bus.publish("key:0123456789abcdef")
        await asyncio.sleep(0.5)
    finally:
        await publisher.close()
    assert ours.evicted == []
