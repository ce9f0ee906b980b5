"""AsyncConnectorClient: the connector's API from asyncio code, on httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from connector_client._api import ConnectorApi
from connector_client._operation import AsyncRunner
from connector_client._s3_calls import get_object
from connector_client._transport import (
    CHUNK,
    Call,
    Exchange,
    Pages,
    RetryPolicy,
    http_options,
    meta_of,
    translated,
)
from connector_client.errors import ConnectorClientError
from connector_client.s3 import UserS3
from connector_client.streams import AsyncObjectStream

T = TypeVar("T")
ItemT = TypeVar("ItemT")


class AsyncConnectorClient(ConnectorApi, AsyncRunner):
    """The connector's REST API for asyncio: every method is awaited, `iter_*` are async
    iterators. Same errors and retries as ConnectorClient; close it (or `async with`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._retry = retry
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            **http_options(base_url, api_key, timeout), transport=transport
        )

    def s3(self, user_id: str) -> UserS3[Self]:
        """S3 helpers bound to `user_id` (awaited)."""
        return UserS3(self, user_id)

    @asynccontextmanager
    async def open_object(
        self,
        user_id: str,
        bucket: str,
        key: str,
        *,
        byte_range: str | None = None,
        provider: str | None = None,
    ) -> AsyncIterator[AsyncObjectStream]:
        """Stream the object: `async with client.open_object(...) as obj: async for c in obj`."""
        call = get_object(user_id, bucket, key, byte_range=byte_range, provider=provider)
        async with self._open(call) as got:
            yield AsyncObjectStream(meta_of(got), self._chunks(got))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        try:
            async with self._open(call) as response:
                return await call.receive.async_(self._chunks(response))
        except ConnectorClientError as error:
            if call.recover is None:
                raise
            return call.recover(error)

    async def _iterate(self, pages: Pages[Any, ItemT]) -> AsyncIterator[ItemT]:
        call: Call[Any] | None = pages.first
        while call is not None:
            page = await self._run(call)
            for item in pages.items(page):
                yield item
            call = pages.following(page)

    @asynccontextmanager
    async def _open(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        """A success answer, its body not read yet; failures retried or raised."""
        exchange = Exchange(call, self._retry)
        while True:
            with translated():
                response = await self._http.send(exchange.request(self._http), stream=True)
                if response.is_success:
                    break
                await response.aread()
            await self._sleep(exchange.wait_after(response))
        try:
            yield response
        finally:
            await response.aclose()

    @staticmethod
    async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
        with translated():
            async for chunk in response.aiter_bytes(CHUNK):
                yield chunk
