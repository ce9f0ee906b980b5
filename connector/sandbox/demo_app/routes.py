"""The rest of the demo app: its own login, and what a connected user can do."""

from __future__ import annotations

import json
import re

import httpx
from litestar import Response, get, post
from litestar.response import Redirect

from connector.sandbox.demo_app import pages
from connector.sandbox.demo_app.config import Config, DemoAppConfig
from connector.sandbox.demo_app.sessions import Notice, Session
from connector.sandbox.demo_app.web import (
    AnyRequest,
    Connector,
    CurrentSession,
    Sessions,
    back_home,
    checked_form,
    code_of,
    html,
)

_APP_USER = re.compile(r"[A-Za-z0-9._@:+\-]{1,128}")  # what the connector accepts in X-User-Id


@get("/")
async def home(session: CurrentSession, connector: Connector, config: Config) -> Response[str]:
    """Pick an app user; once signed in, the user's connection, buckets and function."""
    notice = session.take_notice()
    if session.user is None:
        return html(pages.pick_user(session, notice, config.suggested_users), config)
    answer = await connector.get("/connection", headers={"X-User-Id": session.user})
    extra = await _providers(connector, session, config)
    if not answer.is_success:
        return html(pages.not_connected(session, notice, code_of(answer), extra), config)
    buckets = await _buckets_and_objects(connector, session.user)
    connection = answer.json()["data"]
    page = pages.connected(session, notice, connection, buckets, config.function_name, extra=extra)
    return html(page, config)


async def _providers(connector: httpx.AsyncClient, session: Session, config: DemoAppConfig) -> str:
    """With several providers, the user's connection to each (GET /connections)."""
    if len(config.providers) < 2 or session.user is None:
        return ""
    answer = await connector.get("/connections", headers={"X-User-Id": session.user})
    connections = answer.json()["data"]["connections"] if answer.is_success else []
    return pages.providers(session, config.providers, connections)


@post("/session")
async def sign_in_to_the_app(
    request: AnyRequest, session: CurrentSession, store: Sessions
) -> Redirect:
    """The app's own login, reduced to naming the user (no password: it is a demo)."""
    form = await checked_form(request, session)
    user = form.get("user", "").strip()
    if _APP_USER.fullmatch(user):
        store.renew(session, user=user)
    else:
        session.notice = Notice("error", "A user id is 1-128 of A-Z a-z 0-9 . _ @ : + -.")
    return back_home()


@post("/logout")
async def sign_out_of_the_app(
    request: AnyRequest, session: CurrentSession, store: Sessions
) -> Redirect:
    await checked_form(request, session)
    store.renew(session, user=None)
    return back_home()


@post("/invoke")
async def invoke(
    request: AnyRequest, session: CurrentSession, connector: Connector, config: Config
) -> Redirect:
    """Invoke the demo function as the user, with the payload typed in the form (JSON)."""
    form = await checked_form(request, session)
    try:
        payload = json.loads(form.get("payload") or "{}")
    except json.JSONDecodeError:
        session.notice = Notice("error", "The payload is not JSON.")
        return back_home()
    if session.user is not None:
        name = config.function_name
        answer = await connector.post(
            f"/lambda/functions/{name}/invoke",
            json={"payload": payload},
            headers={"X-User-Id": session.user},
        )
        session.notice = (
            Notice("invoked", f"{name} answered", json.dumps(answer.json()["data"]))
            if answer.is_success
            else Notice("error", f"{name} could not be invoked.", code_of(answer))
        )
    return back_home()


@post("/disconnect")
async def disconnect(
    request: AnyRequest, session: CurrentSession, connector: Connector
) -> Redirect:
    form = await checked_form(request, session)
    if session.user is not None:
        provider = form.get("provider")
        answer = await connector.post(
            "/disconnect",
            params={"provider": provider} if provider else {},
            headers={"X-User-Id": session.user},
        )
        session.notice = (
            Notice("disconnected", "Disconnected: the connector revoked the sign-in.")
            if answer.is_success
            else Notice("error", "Disconnect failed.", code_of(answer))
        )
    return back_home()


@get("/echo")
async def echo(request: AnyRequest, config: Config) -> Response[str]:
    """A return URL for walking through the flow by hand (curl): it only shows what the
    connector sent, and settles nothing."""
    return html(pages.echo(sorted(request.query_params.items())), config)


async def _buckets_and_objects(connector: httpx.AsyncClient, user: str) -> list[pages.Bucket]:
    """The user's first buckets, each with its first objects, as the connector lists them."""
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
