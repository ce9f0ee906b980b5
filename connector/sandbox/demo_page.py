"""The demo return page, served next to the Hosted UI stand-in on the same port."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, get
from litestar.enums import MediaType, ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

DEMO_PATH = "/_demo/connected"
_PREFIX = "/_demo/"


@get(DEMO_PATH, sync_to_thread=False)
def connected(request: Request[Any, Any, Any]) -> Response[str]:
    """Where the connector sends the browser back: shows what it was told, escaped."""
    query = request.scope["query_string"].decode("latin-1")
    rows = "\n".join(
        f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
        for name, value in parse_qsl(query, keep_blank_values=True)
    )
    body = (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>connector dev: back from /callback</title></head>\n<body>\n"
        "<h1>Back from the connector</h1>\n"
        f'<p>Query string: <code id="query">{escape(query)}</code></p>\n'
        f"<table>\n{rows}\n</table>\n</body>\n</html>\n"
    )
    return Response(body, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


def with_demo_page(hosted_ui_app: ASGIApp) -> ASGIApp:
    """One ASGI app: `/_demo/...` from the demo app, everything else (and lifespan) from the
    stand-in, so the return page lives at the same origin as the Hosted UI."""
    demo = Litestar(route_handlers=[connected], openapi_config=None, logging_config=None)

    async def site(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(_PREFIX):
            await demo(scope, receive, send)
        else:
            await hosted_ui_app(scope, receive, send)

    return site
