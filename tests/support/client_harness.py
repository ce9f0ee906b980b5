"""A scripted connector behind httpx.MockTransport, and either client flavour driven the same
way from synchronous tests (async calls run on a fresh event loop)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
from connector_client import AsyncConnectorClient, ConnectorClient, ErrorCode, RetryPolicy

from connector.api.envelope import STATUS_BY_CODE

BASE_URL = "http://connector.test"
API_KEY = "ck_test_key"
Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]
# GET /connection's data for an active connection.
CONNECTION = {
    "userId": "alice",
    "status": "active",
    "sub": "sub-1",
    "username": "alice",
    "email": "alice@example.com",
    "scopes": ["openid", "email"],
    "identityId": None,
    "expiresAt": "2026-11-21T18:48:00.896698Z",
    "lastRefreshedAt": None,
    "createdAt": "2026-11-21T17:48:00Z",
    "updatedAt": "2026-11-21T17:48:00Z",
}
# Deterministic backoff: the ceiling itself, never a random share of it.
NO_JITTER = RetryPolicy(jitter=lambda ceiling: ceiling)


def ok(data: Any, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "data": data, "timestamp": 1_763_700_000_000}, headers=headers
    )


def refusal(
    code: ErrorCode, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "success": False,
        "error": f"refused: {code.value}",
        "code": code.value,
        "timestamp": 1_763_700_000_000,
    }
    if details:
        body["details"] = details
    return httpx.Response(STATUS_BY_CODE[code], json=body, headers=headers)


class FakeConnector:
    """Answers in script order (the last answer repeats) and records requests and bodies."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.content)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            return answer(request)
        # A fresh copy each time: a response's body stream can be read only once.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


class Flavour:
    """One client flavour over a FakeConnector, with recorded (never slept) waits."""

    def __init__(self, kind: str, fake: FakeConnector, retry: RetryPolicy) -> None:
        self.kind = kind
        self.fake = fake
        self.sleeps: list[float] = []
        transport = httpx.MockTransport(fake)
        self.client: Any
        if kind == "sync":
            self.client = ConnectorClient(
                BASE_URL, API_KEY, retry=retry, transport=transport, sleep=self.sleeps.append
            )
        else:
            self.client = AsyncConnectorClient(
                BASE_URL, API_KEY, retry=retry, transport=transport, sleep=self._async_sleep
            )

    async def _async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def run(self, operate: Callable[[Any], Any]) -> Any:
        """`operate(client)`'s result, awaited when the flavour is async."""
        result = operate(self.client)
        if inspect.isawaitable(result):
            return asyncio.run(_awaited(result))
        return result

    def collect(self, operate: Callable[[Any], Any]) -> list[Any]:
        """Every item of the iterator `operate(client)` returns."""
        items = operate(self.client)
        if isinstance(items, AsyncIterator):
            return asyncio.run(_collected(items))
        assert isinstance(items, Iterable)
        return list(items)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


async def _collected(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


MakeFlavour = Callable[..., Flavour]
"""`make_flavour(*answers, retry=...)`, the fixture of conftest.py."""
