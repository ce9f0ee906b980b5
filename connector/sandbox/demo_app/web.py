"""What the demo app's handlers share: their dependencies, the CSRF check, the responses."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import MediaType, Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect

from connector.sandbox.demo_app import pages
from connector.sandbox.demo_app.config import DemoAppConfig
from connector.sandbox.demo_app.sessions import Session, SessionStore

AnyRequest = Request[Any, Any, Any]
Connector = NamedDependency[httpx.AsyncClient]
"""The connector's HTTP API, with the app's API key on every request."""
CurrentSession = NamedDependency[Session]
Sessions = NamedDependency[SessionStore]
_NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


async def checked_form(request: AnyRequest, session: Session) -> dict[str, str]:
    """The posted form, if it carries this session's CSRF token (SameSite=Lax alone would let
    any page on 127.0.0.1, another port included, post here)."""
    form = {name: str(value) for name, value in (await request.form()).items()}
    if not session.csrf_matches(form.get("csrf", "")):
        raise PermissionDeniedException("stale form: reload the page")
    return form


def back_home() -> Redirect:
    """303 to the app's page: whatever URL led here leaves the address bar and the history."""
    return Redirect("/", status_code=303, headers=_NO_REFERRER)


def html(body: str, config: DemoAppConfig) -> Response[str]:
    headers = pages.headers(
        config.hosted_ui_url, *config.other_hosted_ui_urls, config.connector_url
    )
    return Response(body, media_type=MediaType.HTML, headers=headers)


def code_of(answer: httpx.Response) -> str:
    """The envelope's error code (the HTTP status when the answer is not an envelope)."""
    try:
        return str(answer.json().get("code") or answer.status_code)
    except ValueError:
        return str(answer.status_code)
