"""Fixtures for the Hosted UI stand-in: one key set per session, a manual clock, sandboxes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from support.hosted_ui_harness import (
    ALICE,
    BASE_URL,
    CALLBACK,
    POOL_ID,
    SPA_CLIENT,
    WEB_CLIENT,
    WEB_SECRET,
    Sandbox,
    SandboxFactory,
)

from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    KeySet,
    ManualClock,
    create_hosted_ui_app,
)


@pytest.fixture(scope="session")
def pool_keys() -> KeySet:
    """RSA key generation is slow: one key set serves the whole session."""
    return KeySet.generate()


@pytest.fixture
def clock() -> ManualClock:
    # Whole seconds near the real time, so python-jose's own exp check agrees with ours.
    return ManualClock(float(int(time.time())))


@pytest.fixture
def base_config(clock: ManualClock) -> HostedUiConfig:
    return HostedUiConfig(
        user_pool_id=POOL_ID,
        issuer_base_url=BASE_URL,
        clients=(
            AppClient(
                WEB_CLIENT,
                callback_urls=(CALLBACK, "http://app.test/other"),
                client_secret=WEB_SECRET,
                allowed_scopes=("openid", "email", "profile", "aws.cognito.signin.user.admin"),
            ),
            AppClient(SPA_CLIENT, callback_urls=(CALLBACK,)),
        ),
        users=(ALICE,),
        clock=clock,
    )


@pytest.fixture
async def make_sandbox(
    base_config: HostedUiConfig, pool_keys: KeySet
) -> AsyncIterator[SandboxFactory]:
    """Build a stand-in with some configuration changed, e.g. `rotate_refresh_tokens=True`."""
    clients: list[httpx.AsyncClient] = []

    async def make(**changes: Any) -> Sandbox:
        hosted_ui = HostedUi(replace(base_config, **changes), keys=pool_keys)
        app = create_hosted_ui_app(hosted_ui)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        clients.append(http)
        return Sandbox(hosted_ui, app, http)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    return await make_sandbox()
