"""WebhookSender on httpx: one POST per attempt, bounded end to end, never following redirects
(a receiver that moved must be reconfigured, not followed with a signed body)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from connector.adapters import upstream_metrics
from connector.errors import UpstreamUnavailableError

SERVICE = "webhook"
_MAX_RETRY_AFTER = 86400.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: float | None


class HttpxWebhookSender:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            headers={"user-agent": "connector-webhooks"},
        )

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], *, deadline: float
    ) -> Answer:
        try:
            async with asyncio.timeout(deadline):
                response = await self._client.post(
                    url, content=body, headers=headers, timeout=httpx.Timeout(deadline)
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            upstream_metrics.count(SERVICE, type(exc).__name__)
            # The exception's type only: its text may carry the URL and its query.
            raise UpstreamUnavailableError(
                f"webhook receiver unreachable ({type(exc).__name__})"
            ) from exc
        upstream_metrics.count(SERVICE, str(response.status_code))
        return Answer(response.status_code, _retry_after(response.headers.get("retry-after")))

    async def close(self) -> None:
        await self._client.aclose()


def _retry_after(value: str | None) -> float | None:
    """Seconds from `Retry-After: <seconds>`; an HTTP date or garbage is ignored (backoff)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return min(seconds, _MAX_RETRY_AFTER) if seconds >= 0 else None
