"""The demo app: a small web app that integrates the connector the way a real one should.

It plays *your* app, not the connector: it has its own users (picked on its first page, kept in
a server-side session), holds the API key server-side, starts a sign-in for its signed-in user,
and settles the connector's answer at its return URL before it renders anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect
from litestar.types import Message, Scope

from connector.sandbox.demo_app import pages
from connector.sandbox.demo_app.outcomes import confirmed, returned_with_error
from connector.sandbox.demo_app.sessions import COOKIE, Notice, Session, SessionStore

AnyRequest = Request[Any, Any, Any]
Connector = NamedDependency[httpx.AsyncClient]
"""The connector's HTTP API, with the app's API key on every request."""
CurrentSession = NamedDependency[Session]
Sessions = NamedDependency[SessionStore]
_SESSION = "demo_app.session"
_APP_USER = re.compile(r"[A-Za-z0-9._@:+\-]{1,128}")  # what the connector accepts in X-User-Id
_NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class DemoAppConfig:
    url: str
    """Where the demo app is served; its return URL is `<url>/return`."""
    connector_url: str
    api_key: str
    hosted_ui_url: str
    function_name: str
    suggested_users: tuple[str, ...] = ("demo-user", "demo", "mallory")

    @property
    def return_url(self) -> str:
        return return_urls(self.url)[0]


def return_urls(app_url: str) -> tuple[str, str]:
    """The app's return URL, and the page that only shows what came back (for curl users);
    both go on the connector's allow-list."""
    return f"{app_url}/return", f"{app_url}/echo"


Config = NamedDependency[DemoAppConfig]


# -- the reference integration: start a sign-in, settle its return ----------------------------


@post("/connect")
async def connect(
    request: AnyRequest, session: CurrentSession, connector: Connector, config: Config
) -> Redirect:
    """Start a sign-in for the app's signed-in user and remember its `state` in this session."""
    await _checked_form(request, session)
    if session.user is None:
        return _back()
    answer = await connector.get(
        "/connect",
        params={"redirect_uri": config.return_url},
        headers={"X-User-Id": session.user},
    )
    if not answer.is_success:
        session.notice = Notice("error", "The connector refused to start.", _code(answer))
        return _back()
    flow = answer.json()["data"]
    session.start_flow(flow["state"])
    return Redirect(flow["authUrl"], status_code=303)


@get("/return")
async def back_from_sign_in(
    request: AnyRequest, session: CurrentSession, connector: Connector
) -> Redirect:
    """Where the connector sends the browser after Cognito. Nothing is rendered here: the
    outcome is settled with the connector first, then a 303 leaves a clean URL (no state or
    confirmation in the address bar, the history or a Referer)."""
    query = request.query_params
    started_here = session.finish_flow(query.get("state", ""))
    confirmation = query.get("confirmation")
    if confirmation is not None:  # status=pending: the connector waits for the app's word
        if started_here and session.user is not None:
            answer = await connector.post(
                "/connect/confirm",
                json={"confirmation": confirmation},
                headers={"X-User-Id": session.user},
            )
            session.notice = confirmed(answer)
        else:  # another browser's link, or a sign-in this session did not start: refuse it
            await connector.post("/connect/reject", json={"confirmation": confirmation})
            session.notice = Notice(
                "mismatch",
                "This sign-in was not started by you in this browser: it was refused and "
                "nothing was connected.",
                "rejected",
            )
    elif query.get("status") == "connected":  # `claim:` and `none` bindings: already stored
        session.notice = Notice("connected", "Connected.")
    else:
        session.notice = returned_with_error(query.get("error"), query.get("reason"))
    return _back()


# -- the rest of the app ------------------------------------------------------------------------


@get("/")
async def home(session: CurrentSession, connector: Connector, config: Config) -> Response[str]:
    """Pick an app user; once signed in, the user's connection, buckets and function."""
    notice = session.take_notice()
    if session.user is None:
        return _html(pages.pick_user(session, notice, config.suggested_users), config)
    answer = await connector.get("/connection", headers={"X-User-Id": session.user})
    if not answer.is_success:
        return _html(pages.not_connected(session, notice, _code(answer)), config)
    buckets = await _buckets_and_objects(connector, session.user)
    connection = answer.json()["data"]
    page = pages.connected(session, notice, connection, buckets, config.function_name)
    return _html(page, config)


@post("/session")
async def sign_in_to_the_app(
    request: AnyRequest, session: CurrentSession, store: Sessions
) -> Redirect:
    """The app's own login, reduced to naming the user (no password: it is a demo)."""
    form = await _checked_form(request, session)
    user = form.get("user", "").strip()
    if _APP_USER.fullmatch(user):
        store.renew(session, user=user)
    else:
        session.notice = Notice("error", "A user id is 1-128 of A-Z a-z 0-9 . _ @ : + -.")
    return _back()


@post("/logout")
async def sign_out_of_the_app(
    request: AnyRequest, session: CurrentSession, store: Sessions
) -> Redirect:
    await _checked_form(request, session)
    store.renew(session, user=None)
    return _back()


@post("/invoke")
async def invoke(
    request: AnyRequest, session: CurrentSession, connector: Connector, config: Config
) -> Redirect:
    """Invoke the demo function as the user, with the payload typed in the form (JSON)."""
    form = await _checked_form(request, session)
    try:
        payload = json.loads(form.get("payload") or "{}")
    except json.JSONDecodeError:
        session.notice = Notice("error", "The payload is not JSON.")
        return _back()
    if session.user is not None:
        answer = await connector.post(
            f"/lambda/functions/{config.function_name}/invoke",
            json={"payload": payload},
            headers={"X-User-Id": session.user},
        )
        session.notice = (
            Notice("invoked", f"{config.function_name} answered", json.dumps(answer.json()["data"]))
            if answer.is_success
            else Notice("error", f"{config.function_name} could not be invoked.", _code(answer))
        )
    return _back()


@post("/disconnect")
async def disconnect(
    request: AnyRequest, session: CurrentSession, connector: Connector
) -> Redirect:
    await _checked_form(request, session)
    if session.user is not None:
        answer = await connector.post("/disconnect", headers={"X-User-Id": session.user})
        session.notice = (
            Notice("disconnected", "Disconnected: the connector revoked the sign-in.")
            if answer.is_success
            else Notice("error", "Disconnect failed.", _code(answer))
        )
    return _back()


@get("/echo")
async def echo(request: AnyRequest, config: Config) -> Response[str]:
    """A return URL for walking through the flow by hand (curl): it only shows what the
    connector sent, and settles nothing."""
    return _html(pages.echo(sorted(request.query_params.items())), config)


# -- plumbing ----------------------------------------------------------------------------------


async def _buckets_and_objects(connector: httpx.AsyncClient, user: str) -> list[pages.Bucket]:
    headers = {"X-User-Id": user}
    answer = await connector.get("/s3/buckets", headers=headers)
    if not answer.is_success:
        return []
    found = []
    for bucket in answer.json()["data"]["buckets"][:5]:
        listed = await connector.get(
            f"/s3/buckets/{bucket['name']}/objects", params={"maxKeys": 20}, headers=headers
        )
        objects = listed.json()["data"]["objects"] if listed.is_success else []
        found.append(pages.Bucket(bucket["name"], [(o["key"], o["size"]) for o in objects]))
    return found


def _code(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("code") or answer.status_code)
    except ValueError:
        return str(answer.status_code)


def _back() -> Redirect:
    return Redirect("/", status_code=303, headers=_NO_REFERRER)


def _html(body: str, config: DemoAppConfig) -> Response[str]:
    headers = pages.headers(config.hosted_ui_url, config.connector_url)
    return Response(body, media_type=MediaType.HTML, headers=headers)


async def _checked_form(request: AnyRequest, session: Session) -> dict[str, str]:
    """The posted form, if it carries this session's CSRF token (SameSite=Lax alone would let
    any page on 127.0.0.1, another port included, post here)."""
    form = {name: str(value) for name, value in (await request.form()).items()}
    if not session.csrf_matches(form.get("csrf", "")):
        raise PermissionDeniedException("stale form: reload the page")
    return form


def create_demo_app(
    config: DemoAppConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> Litestar:
    """The demo app, talking to the connector at `config.connector_url` with `config.api_key`
    (through `transport` when given: tests put a fake connector there)."""
    store = SessionStore()

    def provide_session(request: AnyRequest) -> Session:
        session = store.open(request.cookies.get(COOKIE))
        request.scope["state"][_SESSION] = session
        return session

    async def set_session_cookie(message: Message, scope: Scope) -> None:
        session = scope.get("state", {}).get(_SESSION)
        if message["type"] == "http.response.start" and session is not None:
            MutableScopeHeaders(message).add("set-cookie", store.set_cookie_header(session))

    @asynccontextmanager
    async def connector_client(app: Litestar) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=config.connector_url,
            headers={"Authorization": f"Bearer {config.api_key}"},
            timeout=30.0,
            transport=transport,
        ) as client:
            app.state.connector = client
            yield

    def provide_connector(state: State) -> httpx.AsyncClient:
        client: httpx.AsyncClient = state.connector
        return client

    return Litestar(
        route_handlers=[
            home,
            sign_in_to_the_app,
            sign_out_of_the_app,
            connect,
            back_from_sign_in,
            invoke,
            disconnect,
            echo,
        ],
        dependencies={
            "session": Provide(provide_session, sync_to_thread=False),
            "store": Provide(lambda: store, sync_to_thread=False),
            "connector": Provide(provide_connector, sync_to_thread=False),
            "config": Provide(lambda: config, sync_to_thread=False),
        },
        before_send=[set_session_cookie],
        lifespan=[connector_client],
        openapi_config=None,
        logging_config=None,
    )
