"""ConnectorClient: the connector's API from synchronous code, on httpx."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from connector_client._api import ConnectorApi
from connector_client._operation import SyncRunner
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
from connector_client.streams import ObjectStream

if TYPE_CHECKING:
    from connector_client.boto import Session

T = TypeVar("T")
ItemT = TypeVar("ItemT")


class ConnectorClient(ConnectorApi, SyncRunner):
    """The connector's REST API: `ConnectorClient(url, api_key)`; close it (or use `with`).

    Failures raise `ConnectorClientError` subclasses named after the envelope's code.
    Failures the connector calls retryable are retried per `retry`, sleeping with `sleep`.
    `region` is the AWS region for `boto3_session` (else the user's identity pool's).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        region: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.region = region
        self._retry = retry
        self._sleep = sleep
        self._http = httpx.Client(**http_options(base_url, api_key, timeout), transport=transport)

    def s3(self, user_id: str) -> UserS3[Self]:
        """S3 helpers bound to `user_id`."""
        return UserS3(self, user_id)

    @contextmanager
    def open_object(
        self,
        user_id: str,
        bucket: str,
        key: str,
        *,
        byte_range: str | None = None,
        provider: str | None = None,
    ) -> Iterator[ObjectStream]:
        """Stream the object: `with client.open_object(user, b, k) as obj: for chunk in obj`."""
        with self._open(
            get_object(user_id, bucket, key, byte_range=byte_range, provider=provider)
        ) as got:
            yield ObjectStream(meta_of(got), self._chunks(got))

    def boto3_session(
        self, user_id: str, *, region_name: str | None = None, provider: str | None = None
    ) -> Session:
        """A boto3 Session acting as the user (through `provider`, None: the default), its
        credentials refreshed from the connector."""
        from connector_client.boto import boto3_session  # noqa: PLC0415 - boto3 only when used

        return boto3_session(self, user_id, region_name=region_name, provider=provider)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        try:
            with self._open(call) as response:
                return call.receive.sync(self._chunks(response))
        except ConnectorClientError as error:
            if call.recover is None:
                raise
            return call.recover(error)

    def _iterate(self, pages: Pages[Any, ItemT]) -> Iterator[ItemT]:
        call: Call[Any] | None = pages.first
        while call is not None:
            page = self._run(call)
            yield from pages.items(page)
            call = pages.following(page)

    @contextmanager
    def _open(self, call: Call[Any]) -> Iterator[httpx.Response]:
        """A success answer, its body not read yet; failures retried or raised."""
        exchange = Exchange(call, self._retry)
        while True:
            with translated():
                response = self._http.send(exchange.request(self._http), stream=True)
                if response.is_success:
                    break
                response.read()
            self._sleep(exchange.wait_after(response))
        try:
            yield response
        finally:
            response.close()

    @staticmethod
    def _chunks(response: httpx.Response) -> Iterator[bytes]:
        with translated():
            yield from response.iter_bytes(CHUNK)
