"""The demo app: a small web app that integrates the connector the way a real one should.

It plays *your* app, not the connector: it has its own users (picked on its first page, kept in
a server-side session), holds the API key server-side, starts a sign-in for its signed-in user,
and settles the connector's answer at its return URL before it renders anything
(`sign_in.py`, the reference integration).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import Provide
from litestar.types import Message, Scope

from connector.sandbox.demo_app import routes
from connector.sandbox.demo_app.config import DemoAppConfig
from connector.sandbox.demo_app.sessions import COOKIE, Session, SessionStore
from connector.sandbox.demo_app.sign_in import back_from_sign_in, connect
from connector.sandbox.demo_app.web import AnyRequest

_SESSION = "demo_app.session"


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
            connect,
            back_from_sign_in,
            routes.home,
            routes.sign_in_to_the_app,
            routes.sign_out_of_the_app,
            routes.invoke,
            routes.disconnect,
            routes.echo,
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
