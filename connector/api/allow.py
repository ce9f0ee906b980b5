"""OPTIONS on any route: 204 with `Allow` naming every method its path serves, without a key.

Litestar's own OPTIONS handler is bound to a route as it was first registered, so a path whose
methods come from several handlers listed only some of them (`DELETE, OPTIONS` for an object),
and it ran the controller's guards (401 without a key, 400 without X-User-Id). Nothing here
reads or acts on data, so nothing needs a key.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

_PARAMETER = re.compile(r"\{(?P<name>\w+):(?P<kind>\w+)\}")


def _matcher(path: str) -> re.Pattern[str]:
    pieces, last = [], 0
    for found in _PARAMETER.finditer(path):
        pieces.append(re.escape(path[last : found.start()]))
        pieces.append(".+" if found["kind"] == "path" else "[^/]+")
        last = found.end()
    pieces.append(re.escape(path[last:]))
    return re.compile("".join(pieces) + "/?")


class AllowedMethods:
    """The methods of each HTTP route of an app, looked up by request path."""

    def __init__(self, routes: list[Any]) -> None:
        http = [route for route in routes if isinstance(route, HTTPRoute)]
        # A literal path wins over a parameter that would also match it.
        http.sort(key=lambda route: len(_PARAMETER.findall(route.path)))
        self._table = [(_matcher(r.path), ", ".join(sorted(r.methods))) for r in http]

    def of(self, path: str) -> str | None:
        return next((allow for matcher, allow in self._table if matcher.fullmatch(path)), None)


def options_middleware(app: ASGIApp) -> ASGIApp:
    """Answers OPTIONS itself (see the module docstring); everything else passes through."""
    allowed: list[AllowedMethods] = []

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "OPTIONS":  # (websocket scopes have no method)
            await app(scope, receive, send)
            return
        if not allowed:  # the routes are final once the app serves
            allowed.append(AllowedMethods(scope["litestar_app"].routes))
        allow = allowed[0].of(scope["path"])
        if allow is None:
            await app(scope, receive, send)  # no such route: the usual 404 envelope
            return
        await Response(None, status_code=204, headers={"Allow": allow}).to_asgi_response(
            app=None, request=Request(scope)
        )(scope, receive, send)

    return middleware
