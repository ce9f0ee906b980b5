"""One stand-in, several user pools: each Hosted UI domain (host name) is its own pool."""

from __future__ import annotations

import httpx

from connector.sandbox.hosted_ui import (
    AppClient,
    HostedUi,
    HostedUiConfig,
    HostedUiDomains,
    KeySet,
    create_hosted_ui_app,
)


def _pool(pool_id: str, url: str, keys: KeySet) -> HostedUi:
    client = AppClient("client", callback_urls=("http://connector.test/callback",))
    return HostedUi(
        HostedUiConfig(user_pool_id=pool_id, issuer_base_url=url, clients=(client,)), keys=keys
    )


async def test_each_host_serves_its_own_pool_and_another_host_none() -> None:
    keys = KeySet.generate()
    first = _pool("us-east-1_First1", "http://127.0.0.1:9229", keys)
    second = _pool("us-east-1_Second2", "http://localhost:9229", keys)
    domains = HostedUiDomains(
        {"127.0.0.1": create_hosted_ui_app(first), "LOCALHOST": create_hosted_ui_app(second)}
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=domains)) as http:
        for url, pool in (("http://127.0.0.1:9229", first), ("http://localhost:9229", second)):
            found = await http.get(
                f"{url}/{pool.config.user_pool_id}/.well-known/openid-configuration"
            )
            assert found.status_code == 200, found.text
            assert found.json()["issuer"] == f"{url}/{pool.config.user_pool_id}"
        other_pool = await http.get(
            "http://localhost:9229/us-east-1_First1/.well-known/openid-configuration"
        )
        assert other_pool.status_code == 404
        stranger = await http.get("http://example.test/oauth2/authorize")
        assert stranger.status_code == 404
        assert stranger.text == "no user pool is served at this host"
    assert (first.stats.openid_configuration, second.stats.openid_configuration) == (1, 1)
