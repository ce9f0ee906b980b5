"""A connector wired to the Hosted UI stand-in in-process, and a scripted browser for it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from jose import jwt

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    KeySet,
    ManualClock,
    SandboxUser,
    create_hosted_ui_app,
)
from connector.settings import Settings
from support.fakes import FixedClock
from support.login_form import parse_login_form

POOL_ID = "us-east-1_Connect1"
COGNITO_URL = "http://cognito.test"
CONNECTOR_URL = "http://connector.test"
CLIENT_ID, CLIENT_SECRET = "connector-client", "connector-client-secret"
RETURN_URL = "https://app.example/done"
ALICE = SandboxUser(username="alice", password="Alice-Password-1", email="alice@example.com")
BOB = SandboxUser(username="bob", password="Bob-Password-1", email="bob@example.com")


class TamperingTransport(httpx.AsyncBaseTransport):
    """Forwards to the stand-in; when `bend` is set, replaces the ID token it issues."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bend: Callable[[dict[str, Any]], str] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.bend is None or request.url.path != "/oauth2/token":
            return response
        await response.aread()
        body = json.loads(response.content)
        if "id_token" in body:
            body["id_token"] = self.bend(body)
        return httpx.Response(response.status_code, json=body)


@dataclass
class Instance:
    """One connector replica."""

    container: Container
    client: httpx.AsyncClient


@dataclass
class CognitoWorld:
    hosted_ui: HostedUi
    transport: TamperingTransport
    settings: Settings
    clock: FixedClock
    stack: AsyncExitStack
    instances: list[Instance] = field(default_factory=list)

    async def instance(self) -> Instance:
        """A connector replica; replicas share the database and cache of `settings`."""
        container = await build_container(
            self.settings, clock=self.clock, http_transport=self.transport
        )
        self.stack.push_async_callback(container.close)
        app = create_app(self.settings, container=container)
        # Same event loop as the test (asyncpg and redis connections are bound to one loop);
        # a redirect back to the app is what we assert on, so none is followed.
        client = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONNECTOR_URL)
        )
        made = Instance(container, client)
        self.instances.append(made)
        return made

    async def key(self, instance: Instance, *scopes: str, **policy: Any) -> str:
        """A new API key with `scopes` and an optional policy (`buckets`, `functions`,
        `read_only`, as `connector keys create` takes them)."""
        count = len(await instance.container.services.api_keys.list())
        _, raw = await instance.container.services.api_keys.create(
            f"key-{count}", scopes=scopes or ("connect", "connection:read", "token:read"), **policy
        )
        return raw

    async def login(self, auth_url: str, user: SandboxUser = ALICE) -> str:
        """What a browser does at the Hosted UI; returns where Cognito sends it back."""
        async with httpx.AsyncClient(transport=self.transport, base_url=COGNITO_URL) as browser:
            form_page = await browser.get(auth_url)
            assert form_page.status_code == 200, form_page.text
            form = parse_login_form(form_page.text)
            fields = {**form.hidden, "username": user.username, "password": user.password}
            # Relative to the page, as a browser resolves it (stand-ins live at several hosts).
            answer = await browser.post(str(form_page.url.join(form.action)), data=fields)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def start(
        self, instance: Instance, key: str, user_id: str = "alice", **params: str
    ) -> dict[str, Any]:
        query = {"redirect_uri": RETURN_URL, **params}
        response = await instance.client.get(
            "/connect",
            params=query,
            headers={"Authorization": f"Bearer {key}", "X-User-Id": user_id},
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def connect(
        self, instance: Instance, key: str, user_id: str = "alice", user: SandboxUser = ALICE
    ) -> httpx.Response:
        """The whole browser round trip; returns the connector's answer at /callback."""
        start = await self.start(instance, key, user_id)
        back = urlsplit(await self.login(start["authUrl"], user))
        return await instance.client.get(f"{back.path}?{back.query}")

    def mint_bad_id_token(self, **changes: Any) -> Callable[[dict[str, Any]], str]:
        """An ID-token replacement keeping the real nonce unless told otherwise."""

        def bend(body: dict[str, Any]) -> str:
            claims = jwt.get_unverified_claims(body["id_token"])
            options: dict[str, Any] = {
                "client_id": CLIENT_ID,
                "nonce": claims.get("nonce"),
                "access_token": body["access_token"],
                **changes,
            }
            return self.hosted_ui.mint_id_token("alice", **options)

        return bend


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def world_settings(database_url: str, cache_url: str, fernet_key: str, **extra: str) -> Settings:
    return Settings.from_env(
        {
            "AWS_COGNITO_DOMAIN": COGNITO_URL,
            "AWS_COGNITO_CLIENT_ID": CLIENT_ID,
            "AWS_COGNITO_CLIENT_SECRET": CLIENT_SECRET,
            "AWS_REGION": "us-east-1",
            "AWS_COGNITO_USER_POOL_ID": POOL_ID,
            "AWS_COGNITO_ISSUER": f"{COGNITO_URL}/{POOL_ID}",
            "CONNECTOR_PUBLIC_URL": CONNECTOR_URL,
            "CONNECTOR_REDIRECT_ALLOWLIST": RETURN_URL,
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_REDIS_URL": cache_url,
            "CONNECTOR_ENCRYPTION_KEYS": fernet_key,
            # Suites about other things skip the confirm step; the binding suites set their own.
            "CONNECTOR_IDENTITY_BINDING": "none",
            **extra,
        }
    )


def make_world(
    stack: AsyncExitStack, keys: KeySet, settings: Settings, *, rotate: bool = False
) -> CognitoWorld:
    """The stand-in (clock at real time, so jose's own exp check agrees) and a connector clock."""
    hosted_ui = HostedUi(
        HostedUiConfig(
            user_pool_id=POOL_ID,
            issuer_base_url=COGNITO_URL,
            clients=(
                AppClient(
                    CLIENT_ID,
                    callback_urls=(f"{CONNECTOR_URL}/callback",),
                    client_secret=CLIENT_SECRET,
                ),
            ),
            users=(ALICE, BOB),
            rotate_refresh_tokens=rotate,
            clock=ManualClock(float(int(time.time()))),
        ),
        keys=keys,
    )
    transport = TamperingTransport(httpx.ASGITransport(app=create_hosted_ui_app(hosted_ui)))
    return CognitoWorld(hosted_ui, transport, settings, FixedClock(datetime.now(UTC)), stack)
