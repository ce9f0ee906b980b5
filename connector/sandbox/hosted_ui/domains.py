"""Several user pools behind one stand-in: Cognito gives each pool its own Hosted UI domain, so
the stand-in answers each host name with that pool's app (`connector dev` serves two pools at
`127.0.0.1:<port>` and `localhost:<port>`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

# Plain ASGI: the pool apps are Litestar apps, the server uvicorn; nothing here needs more.
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _host_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = bytes(value).decode("latin-1").lower()
            # "[::1]:9229" and "localhost:9229" alike: the name without its port.
            return host.rpartition(":")[0] if host.rfind(":") > host.rfind("]") else host
    return ""


class HostedUiDomains:
    """An ASGI app sending each request to the pool app of its Host; 404 for another host.
    Lifespan events are answered here (the pool apps have no start-up work)."""

    def __init__(self, apps_by_host: Mapping[str, Any]) -> None:
        """`apps_by_host`: an ASGI app (a pool's Litestar app) by host name."""
        self._apps: dict[str, ASGIApp] = {h.lower(): app for h, app in apps_by_host.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        app = self._apps.get(_host_of(scope))
        if app is not None:
            await app(scope, receive, send)
            return
        if scope["type"] == "http":
            body = b"no user pool is served at this host"
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
