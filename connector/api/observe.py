"""The request middleware: request id, one log line, request metrics and the audit event of
every REST operation acting for a user (JSON-RPC calls are audited one by one in rpc.py).

Plain ASGI and small on purpose: it runs on every request (the hot path the benchmarks measure).
`observe` wraps the whole application, outside Litestar's router, so that every answer carries
`X-Request-Id`, counts and is logged, including those given before any route runs (404 for an
unknown path, 405 for a method the path does not serve). `route_known`, an app-level middleware
(Litestar runs those after routing), tells the request's context its route template.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from connector import metrics
from connector.logs import audit, context

REQUEST_ID_HEADER = b"x-request-id"
APP_NAME = "connector"
UNROUTED = "<unrouted>"
"""The route label of a request that matched no route (a bounded label: never the raw path)."""
_log = logging.getLogger("connector.request")
_UNMEASURED = frozenset({"/metrics"})
_RESOURCE_PARAMS = ("bucket", "key", "name")


def observe(app: Litestar) -> Litestar:
    """Wrap `app`'s handler, router included, in the middleware (once); returns `app`."""
    if not isinstance(app.asgi_handler, ObserveMiddleware):
        app.asgi_handler = ObserveMiddleware(app.asgi_handler)
    return app


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request = context.begin(_header(scope, REQUEST_ID_HEADER), method=scope["method"])
        started = time.perf_counter()
        status = 500
        request_id = request.request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _finish(scope, request, status, time.perf_counter() - started)


def route_known(app: ASGIApp) -> ASGIApp:
    """App-level middleware (after routing): the request's context learns its route template."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        request = context.current()
        if request is not None:
            request.route = scope.get("path_template") or scope["path"]
        await app(scope, receive, send)

    return middleware


def _finish(scope: Scope, request: context.RequestContext, status: int, seconds: float) -> None:
    route = request.route or UNROUTED
    if route not in _UNMEASURED:
        count, latency = _series(request.method or "", route, status)
        count.inc()
        latency.observe(seconds)
    if request.user_id is not None:
        handler = scope.get("route_handler")
        operation = getattr(handler, "operation_id", None)
        audit.record(
            operation if isinstance(operation, str) else route,
            user_id=request.user_id,
            outcome=request.outcome or (audit.OK if status < 400 else str(status)),
            resource=request.resource or resource_of(scope.get("path_params") or {}),
        )
    if _log.isEnabledFor(logging.INFO):
        _log.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={"status": status, "duration_ms": round(seconds * 1000, 2)},
        )


# (method, route template, status) -> the two series' children: a bounded set (routes are
# templates), looked up once instead of through `labels()` and its lock on every request.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    key = (method, route, status)
    found = _SERIES.get(key)
    if found is None:
        labels = (APP_NAME, method, route, str(status))
        found = _SERIES[key] = (
            metrics.REQUESTS.labels(*labels),
            metrics.REQUEST_SECONDS.labels(*labels),
        )
    return found


def resource_of(params: dict[str, Any]) -> str | None:
    """`bucket/key`, `bucket` or a function name, from a request's named parameters."""
    parts = [str(params[name]) for name in _RESOURCE_PARAMS if params.get(name) is not None]
    return "/".join(parts) or None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def acting_on(*, bucket: str, key: str) -> None:
    """Name the request's resource for its audit event when the path does not (presign's body)."""
    request = context.current()
    if request is not None:
        request.resource = resource_of({"bucket": bucket, "key": key})
