"""RedisCache at its boundary: outages become CacheUnavailableError, configuration is checked."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.exceptions
from redis.asyncio import Redis

from connector.adapters.redis_cache import RedisCache, create_cache
from connector.errors import CacheUnavailableError, ConfigurationError

REAL_REDIS_URL = "redis://127.0.0.1:6379/0"
CLOSED_PORT_URL = "redis://:s3cret-password@127.0.0.1:1/0"  # nothing listens on port 1
# Generous: a dead cache must cost a short timeout, not the library's multi-second backoff.
QUICK = 2.0

Call = Callable[[RedisCache], Awaitable[object]]
EVERY_METHOD: dict[str, Call] = {
    "get": lambda c: c.get("k"),
    "set": lambda c: c.set("k", b"v"),
    "set_with_ttl": lambda c: c.set("k", b"v", ttl=1.5),
    "add": lambda c: c.add("k", b"v", ttl=1),
    "pop": lambda c: c.pop("k"),
    "delete": lambda c: c.delete("k", "j"),
    "delete_if_equals": lambda c: c.delete_if_equals("k", b"v"),
    "ttl": lambda c: c.ttl("k"),
    "ping": lambda c: c.ping(),
}


@pytest.fixture
async def dead_cache() -> AsyncIterator[RedisCache]:
    cache = create_cache(CLOSED_PORT_URL)
    yield cache
    await cache.close()


class FakeServer:
    """A TCP server that answers every read with `reply`, or never answers when None."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/0"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.read(4096):
                if self.reply is not None:
                    writer.write(self.reply)
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.mark.parametrize("name", list(EVERY_METHOD))
async def test_every_method_on_a_closed_port_raises_cache_unavailable(
    dead_cache: RedisCache, name: str
) -> None:
    started = time.monotonic()

    with pytest.raises(CacheUnavailableError) as caught:
        await EVERY_METHOD[name](dead_cache)

    assert time.monotonic() - started < QUICK
    assert str(caught.value) == "cache unavailable"
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    for secret_or_address in ("redis://", "127.0.0.1", "s3cret-password"):
        assert secret_or_address not in str(caught.value)
    assert "s3cret-password" not in str(caught.value.__cause__)


async def test_a_server_that_never_answers_costs_one_timeout_and_no_retry() -> None:
    async with FakeServer(reply=None) as server:
        cache = create_cache(server.url, socket_timeout=0.05, connect_timeout=0.05)
        try:
            with pytest.raises(CacheUnavailableError) as caught:
                await cache.get("k")
        finally:
            await cache.close()

    assert isinstance(caught.value.__cause__, redis.exceptions.TimeoutError | TimeoutError)
    # A retried timeout would open a second connection (and, nested in the connect retry, a
    # third and fourth): each one another socket timeout added to the request.
    assert server.connections == 1


async def test_a_server_still_loading_its_dataset_raises_cache_unavailable() -> None:
    async with FakeServer(reply=b"-LOADING Redis is loading the dataset in memory\r\n") as server:
        cache = create_cache(server.url)
        try:
            with pytest.raises(CacheUnavailableError) as caught:
                await cache.set("k", b"v")
        finally:
            await cache.close()

    assert isinstance(caught.value.__cause__, redis.exceptions.BusyLoadingError)


async def test_a_pooled_connection_closed_by_the_server_is_replaced_by_one_retry() -> None:
    admin = Redis.from_url(REAL_REDIS_URL)
    cache = create_cache(REAL_REDIS_URL, prefix=f"connector-test-{secrets.token_hex(6)}:")
    try:
        try:
            await admin.ping()
        except redis.exceptions.ConnectionError as exc:
            pytest.fail(f"Redis at {REAL_REDIS_URL} is required: {exc}", pytrace=False)
        await cache.set("k", b"v", ttl=30)
        killed = await admin.client_kill_filter(_id=str(await cache.client.client_id()))

        assert killed == 1
        assert await cache.get("k") == b"v"  # the first attempt hits the dead socket
    finally:
        await cache.delete("k")
        await cache.close()
        await admin.aclose()


async def test_a_programming_error_from_redis_propagates_unchanged() -> None:
    cache = create_cache("memory://", prefix="p:")
    try:
        await cache.client.lpush("p:k", b"a list, not a string")
        with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
            await cache.get("k")
    finally:
        await cache.close()


async def test_close_of_a_cache_that_never_connected_succeeds() -> None:
    cache = create_cache(CLOSED_PORT_URL)

    await cache.close()

    with pytest.raises(CacheUnavailableError):
        await cache.get("k")  # still the port's error after close, never a raw redis one


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379",
        "unix:///tmp/redis.sock",
        "127.0.0.1:6379",
        "",
        "memcached://127.0.0.1:11211",
    ],
)
def test_an_unsupported_scheme_is_a_configuration_error_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_cache(url)

    assert caught.value.variable == "CONNECTOR_REDIS_URL"
    assert str(caught.value).startswith("CONNECTOR_REDIS_URL: ")


def test_a_malformed_redis_url_is_a_configuration_error_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_cache("redis://:s3cret-password@127.0.0.1:notaport/0")

    assert caught.value.variable == "CONNECTOR_REDIS_URL"
    assert "s3cret-password" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://cache.internal:6380/1"])
def test_the_client_carries_short_timeouts_and_at_most_one_immediate_retry(url: str) -> None:
    cache = create_cache(url, socket_timeout=0.3, connect_timeout=0.2)
    kwargs = cache.client.connection_pool.connection_kwargs

    assert kwargs["socket_timeout"] == 0.3
    assert kwargs["socket_connect_timeout"] == 0.2
    assert kwargs["health_check_interval"] == 30
    assert kwargs["retry"].get_retries() == 1


def test_the_default_timeouts_are_a_quarter_second() -> None:
    kwargs = create_cache("redis://127.0.0.1:6379/0").client.connection_pool.connection_kwargs

    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.25, 0.25)


async def test_memory_caches_return_bytes_not_str() -> None:
    cache = create_cache("memory://")
    try:
        await cache.set("k", "é".encode())
        assert await cache.get("k") == "é".encode()
        assert await cache.pop("k") == b"\xc3\xa9"
    finally:
        await cache.close()


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_after_a_failure_calls_skip_the_cache_until_one_probe_finds_it_back() -> None:
    clock = ManualClock()
    async with FakeServer(reply=None) as hung:
        cache = create_cache(
            hung.url, socket_timeout=0.05, connect_timeout=0.05, retry_interval=2.0,
            monotonic=clock,
        )  # fmt: skip
        try:
            with pytest.raises(CacheUnavailableError) as first:
                await cache.get("k")
            assert isinstance(first.value.__cause__, redis.exceptions.TimeoutError | TimeoutError)
            for name, call in EVERY_METHOD.items():
                with pytest.raises(CacheUnavailableError, match="skipped") as skipped:
                    await call(cache)
                assert skipped.value.__cause__ is None, name  # refused here, not by Redis
            assert hung.connections == 1
            assert cache.skipping

            clock.now += 2.0
            with pytest.raises(CacheUnavailableError, match=r"^cache unavailable$"):
                await cache.get("k")  # the probe went to the server, and failed again
            assert hung.connections == 2
        finally:
            await cache.close()


async def test_an_error_answer_is_an_answer_and_closes_the_breaker() -> None:
    clock = ManualClock()
    async with FakeServer(reply=None) as server:
        cache = create_cache(
            server.url, socket_timeout=0.05, connect_timeout=0.05, retry_interval=2.0,
            monotonic=clock,
        )  # fmt: skip
        try:
            with pytest.raises(CacheUnavailableError):
                await cache.get("k")  # a hung server: the breaker opens
            server.reply = b"-WRONGTYPE Operation against a key\r\n"
            clock.now += 2.0
            with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
                await cache.get("k")
            assert not cache.skipping
        finally:
            await cache.close()
