"""Two providers side by side: the world's own stand-in (provider `default`) and a second Hosted UI
stand-in, pool and app client at another domain (provider `acme`), reached through one
transport that routes by host, as DNS would."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

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
from support.oauth_world import (
    COGNITO_URL,
    CONNECTOR_URL,
    CognitoWorld,
    TamperingTransport,
    make_world,
)

ACME = "acme"
ACME_URL = "http://acme.test"
ACME_POOL_ID = "us-east-1_Acme2"
ACME_ISSUER = f"{ACME_URL}/{ACME_POOL_ID}"
ACME_PROVIDER = f"{ACME_ISSUER.split('://', 1)[1]}"  # the identity-pool Logins key
ACME_CLIENT_ID, ACME_CLIENT_SECRET = "acme-client", "acme-client-secret"
# The same person has another account, with another `sub`, in the other pool.
ACME_ALICE = SandboxUser(username="alice", password="Alice-Acme-1", email="alice@acme.example")


class HostRouter(httpx.AsyncBaseTransport):
    """Sends each request to the transport of its host."""

    def __init__(self, routes: Mapping[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.host].handle_async_request(request)


def providers_file(directory: Path, identity_pool_id: str) -> Path:
    """A CONNECTOR_PROVIDERS_FILE defining `acme` (its secret in ACME_CLIENT_SECRET)."""
    path = directory / "providers.toml"
    path.write_text(
        f"""[providers.{ACME}]
domain = "{ACME_URL}"
client_id = "{ACME_CLIENT_ID}"
client_secret_env = "ACME_CLIENT_SECRET"
region = "us-east-1"
user_pool_id = "{ACME_POOL_ID}"
issuer = "{ACME_ISSUER}"
identity_pool_id = "{identity_pool_id}"
"""
    )
    return path


def make_two_provider_world(
    stack: AsyncExitStack, keys: KeySet, settings: Settings
) -> tuple[CognitoWorld, HostedUi]:
    """The world of `settings` (its stand-in serves `default`) and acme's stand-in, signing
    with the same keys: only the issuer tells their tokens apart."""
    world = make_world(stack, keys, settings)
    acme = HostedUi(
        HostedUiConfig(
            user_pool_id=ACME_POOL_ID,
            issuer_base_url=ACME_URL,
            clients=(
                AppClient(
                    ACME_CLIENT_ID,
                    callback_urls=(f"{CONNECTOR_URL}/callback",),
                    client_secret=ACME_CLIENT_SECRET,
                ),
            ),
            users=(ACME_ALICE,),
            clock=ManualClock(float(int(time.time()))),
        ),
        keys=keys,
    )
    router = HostRouter(
        {
            httpx.URL(COGNITO_URL).host: world.transport.inner,
            httpx.URL(ACME_URL).host: httpx.ASGITransport(app=create_hosted_ui_app(acme)),
        }
    )
    world.transport = TamperingTransport(router)
    return world, acme
