"""Everything both client flavours share about one call: the request, the answer's envelope,
the typed error, and whether and when to try again. The flavours only send and sleep."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from connector_client._body import Body
from connector_client._receive import Receiver
from connector_client._trace_context import propagate
from connector_client.errors import (
    ConnectorClientError,
    ConnectorUnreachableError,
    UnexpectedResponseError,
    error_class,
)
from connector_client.models import Envelope, Failure, ObjectMeta

T = TypeVar("T")
D = TypeVar("D")
PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")
USER_AGENT = "connector-client/0.1"
JSON = "application/json"
CHUNK = 1 << 16
"""Download chunk size: small enough to keep memory flat, large enough for few writes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Generic[T]):
    """One operation, ready to send: what to ask and what to make of a success."""

    method: str
    path: str
    receive: Receiver[T]
    user_id: str | None = None
    provider: str | None = None
    """The provider the call acts on (the `provider` query parameter); None: the default."""
    params: Mapping[str, str | int | None] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body | None = None
    recover: Callable[[ConnectorClientError], T] | None = None
    """Turns some failures into a result (it re-raises the others)."""
    idempotent: bool = True
    """False when a second run may act twice (Lambda invoke, a one-time OAuth code)."""

    def may_retry(self, error: ConnectorClientError) -> bool:
        """Whether sending again is safe: the body can be sent again, and the call either has
        the same effect twice or was refused before it ran (429: throttled)."""
        replayable = self.body is None or self.body.replayable
        return replayable and (self.idempotent or error.status == 429)


@dataclass(frozen=True, slots=True)
class Pages(Generic[PageT, ItemT]):
    """A listing across pages: the first page's call, its items, the next page's call."""

    first: Call[PageT]
    items: Callable[[PageT], Iterable[ItemT]]
    following: Callable[[PageT], Call[PageT] | None]


def path_segment(value: str, safe: str = "") -> str:
    """`value` quoted for one URL path segment (a segment of `safe` characters stays readable)."""
    # "." and ".." would be folded away by URL normalisation; S3 allows them as key parts.
    return "%2E" * len(value) if value in (".", "..") else quote(value, safe=safe)


def full_jitter(ceiling: float) -> float:
    return random.uniform(0, ceiling)  # noqa: S311 - spreading retries, not a secret


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of failures the connector calls retryable, and only of bodies that can be sent
    again. Waits `Retry-After` when given (capped at `max_delay`), else exponential backoff
    from `backoff` seconds with full jitter."""

    max_attempts: int = 3
    max_delay: float = 30.0
    backoff: float = 0.5
    jitter: Callable[[float], float] = full_jitter

    def delay(self, attempt: int, error: ConnectorClientError) -> float | None:
        """Seconds to wait after failed attempt `attempt` (1-based), or None to give up."""
        if attempt >= self.max_attempts or not error.retryable:
            return None
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_delay)
        return self.jitter(min(self.backoff * 2 ** (attempt - 1), self.max_delay))


class Exchange:
    """The attempts of one call."""

    def __init__(self, call: Call[Any], policy: RetryPolicy) -> None:
        self.call = call
        self._policy = policy
        self._attempt = 1

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        call = self.call
        headers = dict(call.headers)
        propagate(headers)
        if call.user_id is not None:
            headers["X-User-Id"] = call.user_id
        content = None
        if call.body is not None:
            is_async = isinstance(http, httpx.AsyncClient)
            content = call.body.for_async() if is_async else call.body.for_sync()
            if call.body.content_length is not None:
                headers["Content-Length"] = str(call.body.content_length)
        params = {name: value for name, value in call.params.items() if value is not None}
        if call.provider is not None:
            params["provider"] = call.provider
        return http.build_request(
            call.method, call.path, params=params, headers=headers, content=content
        )

    def wait_after(self, failed: httpx.Response) -> float:
        """Seconds to wait before the next attempt; raises the typed error when there is none."""
        error = error_from(failed)
        delay = self._policy.delay(self._attempt, error) if self.call.may_retry(error) else None
        if delay is None:
            raise error
        self._attempt += 1
        return delay


def error_from(response: httpx.Response) -> ConnectorClientError:
    """The typed error of a failure answer (its body already read)."""
    status = response.status_code
    header_wait = _retry_after(response.headers.get("retry-after"))
    try:
        failure = msgspec.json.decode(response.content, type=Failure)
    except msgspec.MsgspecError:
        return UnexpectedResponseError(
            f"HTTP {status} without an error envelope", status=status, retry_after=header_wait
        )
    wait = failure.details.get("retryAfter")
    return error_class(failure.code)(
        failure.error,
        code=failure.code,
        status=status,
        details=failure.details,
        retry_after=float(wait) if isinstance(wait, int | float) else header_wait,
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def data_of(shape: type[D]) -> Callable[[bytes], D]:
    """Decodes a success envelope and hands over its `data` as `shape`."""
    decoder = _decoders.get(shape)
    if decoder is None:
        decoder = _decoders[shape] = msgspec.json.Decoder(Envelope[shape])  # type: ignore[valid-type]

    def decode(content: bytes) -> D:
        try:
            envelope: Envelope[D] = decoder.decode(content)
            return envelope.data
        except msgspec.MsgspecError as exc:
            raise UnexpectedResponseError(f"the answer is not a {shape.__name__}: {exc}") from exc

    return decode


@contextmanager
def translated() -> Iterator[None]:
    """httpx's transport failures, translated once, here, into the client's own error."""
    try:
        yield
    except httpx.TransportError as exc:
        raise ConnectorUnreachableError(
            f"the connector did not answer ({type(exc).__name__})"
        ) from exc


def meta_of(response: httpx.Response) -> ObjectMeta:
    headers = response.headers
    length = headers.get("content-length")
    return ObjectMeta(
        status=response.status_code,
        content_type=headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        content_range=headers.get("content-range"),
    )


def http_options(base_url: str, api_key: str, timeout: float | httpx.Timeout) -> dict[str, Any]:
    """What both flavours give their httpx client."""
    return {
        "base_url": base_url.rstrip("/"),
        "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        "timeout": timeout,
    }
