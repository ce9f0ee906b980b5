"""The small HTML pages a browser sees at /callback, and the redirect back to the app."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import MediaType, Request, Response
from litestar.response import Redirect

# The callback URL carries the authorization code: keep it out of caches and Referer headers.
# No site may frame these pages (clickjacking): CSP frame-ancestors, and X-Frame-Options for
# browsers that predate it.
NO_LEAK_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def accepts_json(request: Request[Any, Any, Any]) -> bool:
    """The Accept header names application/json and not text/html."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def page(title: str, message: str, status: int) -> Response[str]:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title></head><body style='font-family:sans-serif;margin:3em'>"
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=NO_LEAK_HEADERS)


def redirect_back(return_url: str, **params: str) -> Redirect:
    """302 to the app's return URL with `params` added to its query (its own query is kept)."""
    parts = urlsplit(return_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    location = urlunsplit(parts._replace(query=urlencode(query)))
    return Redirect(location, status_code=302, headers=NO_LEAK_HEADERS)
