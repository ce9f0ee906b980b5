"""Configuration refused at construction, published keys, and the optional-PKCE client."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from support.hosted_ui_harness import CALLBACK, POOL_ID, WEB_CLIENT, SandboxFactory

from connector.sandbox.hosted_ui import AppClient, HostedUiConfig, KeySet, SandboxUser


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_pool_id": "not-a-pool"}, "user_pool_id"),
        ({"issuer_base_url": "127.0.0.1:9229"}, "issuer_base_url"),
        ({"rotation_grace_seconds": 61}, "rotation_grace_seconds"),
        ({"access_token_ttl": 0}, "lifetimes"),
        (
            {"users": (SandboxUser("a", "p", "a@x"), SandboxUser("a", "q", "b@x"))},
            "usernames",
        ),
        (
            {"clients": (AppClient("c", (CALLBACK,)), AppClient("c", (CALLBACK,)))},
            "unique",
        ),
    ],
)
def test_inconsistent_configuration_is_refused(
    base_config: HostedUiConfig, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(base_config, **changes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"callback_urls": ()}, "callback URL"),
        ({"callback_urls": (CALLBACK,), "allowed_flows": ("implicit",)}, "only 'code'"),
    ],
)
def test_inconsistent_app_client_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AppClient("client", **kwargs)


def test_issuer_and_jwks_uri_follow_the_base_url(base_config: HostedUiConfig) -> None:
    config = replace(base_config, issuer_base_url="http://127.0.0.1:9229/")
    assert config.issuer == f"http://127.0.0.1:9229/{POOL_ID}"
    assert config.jwks_uri == f"http://127.0.0.1:9229/{POOL_ID}/.well-known/jwks.json"


def test_jwks_publishes_two_public_keys_and_nothing_private(pool_keys: KeySet) -> None:
    keys = pool_keys.jwks()["keys"]

    assert len(keys) == 2
    assert pool_keys.foreign_key.kid not in {key["kid"] for key in keys}
    for key in keys:
        assert set(key) == {"alg", "e", "kid", "kty", "n", "use"}
        assert (key["alg"], key["kty"], key["use"]) == ("RS256", "RSA", "sig")


async def test_client_without_required_pkce_may_skip_it(make_sandbox: SandboxFactory) -> None:
    relaxed = AppClient(
        WEB_CLIENT, callback_urls=(CALLBACK,), client_secret="s", require_pkce=False
    )
    sandbox = await make_sandbox(clients=(relaxed,))
    page = await sandbox.authorize(code_challenge=None, code_challenge_method=None)
    callback = await sandbox.submit_login(page, "alice", "Correct-Horse-1")
    code = callback.headers["location"].split("code=")[1].split("&")[0]

    response = await sandbox.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        (WEB_CLIENT, "s"),
    )

    assert response.status_code == 200
    assert sandbox.hosted_ui.stats.pkce_methods == {"none": 1}
