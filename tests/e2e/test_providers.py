"""One user connected to two Cognito providers at once (issue 13): the AWS_COGNITO_* provider
`default` and `acme` from CONNECTOR_PROVIDERS_FILE, each with its own Hosted UI stand-in, user
pool, app client and identity pool on moto. Their tokens, identity ids and AWS credentials stay
apart; a refresh or a disconnect on one never touches the other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from connector_client import AsyncConnectorClient, ValidationError
from cryptography.fernet import Fernet
from jose import jwt
from support.aws_world import headers
from support.envelopes import assert_envelope
from support.log_lines import json_lines
from support.oauth_world import (
    CLIENT_ID,
    CLIENT_SECRET,
    COGNITO_URL,
    CONNECTOR_URL,
    POOL_ID,
    RETURN_URL,
    CognitoWorld,
    Instance,
    query_of,
)
from support.oauth_world import world_settings as base_settings
from support.providers_world import (
    ACME,
    ACME_ALICE,
    ACME_CLIENT_ID,
    ACME_CLIENT_SECRET,
    ACME_ISSUER,
    ACME_PROVIDER,
    make_two_provider_world,
    providers_file,
)

from connector.app import create_app
from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import HostedUi, KeySet
from connector.settings import Settings

ALL_SCOPES = (
    "connect",
    "connection:read",
    "token:read",
    "credentials:read",
    "s3:read",
    "lambda:read",
)


class Providers:
    """The two-provider world, one replica, and alice's key."""

    def __init__(
        self, world: CognitoWorld, acme: HostedUi, replica: Instance, aws: dict[str, Any]
    ) -> None:
        self.world = world
        self.acme = acme
        self.replica = replica
        self.aws = aws
        self.key = ""

    async def connect(self, provider: str | None = None, key: str | None = None) -> str:
        """alice's round trip through the provider's Hosted UI; the connector's redirect."""
        params = {} if provider is None else {"provider": provider}
        start = await self.world.start(self.replica, key or self.key, **params)
        if provider == ACME:
            back = urlsplit(await self.world.login(start["authUrl"], ACME_ALICE))
        else:
            back = urlsplit(await self.world.login(start["authUrl"]))
        answer = await self.replica.client.get(f"{back.path}?{back.query}")
        assert answer.status_code == 302, answer.text
        location: str = answer.headers["location"]
        return location

    async def get(self, path: str, provider: str | None = None, **params: Any) -> Any:
        if provider is not None:
            params["provider"] = provider
        return await self.replica.client.get(path, params=params, headers=headers(self.key))

    def identities(self, pool_id: str) -> list[str]:
        listed = self.aws["identity"].list_identities(IdentityPoolId=pool_id, MaxResults=60)
        return [i["IdentityId"] for i in listed["Identities"]]


@pytest.fixture
async def providers(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Providers]:
    acme_pool = aws["identity"].create_identity_pool(
        IdentityPoolName="connector_e2e_acme",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": ACME_PROVIDER, "ClientId": ACME_CLIENT_ID}],
    )["IdentityPoolId"]
    aws["acme_pool_id"] = acme_pool
    settings = base_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_PROVIDERS_FILE=str(providers_file(tmp_path, acme_pool)),
        ACME_CLIENT_SECRET=ACME_CLIENT_SECRET,
    )
    async with AsyncExitStack() as stack:
        world, acme = make_two_provider_world(stack, pool_keys, settings)
        made = Providers(world, acme, await world.instance(), aws)
        made.key = await world.key(made.replica, *ALL_SCOPES)
        yield made


async def test_one_user_connected_to_both_providers_sees_both_connections(
    providers: Providers,
) -> None:
    assert query_of(await providers.connect())["status"] == "connected"
    assert query_of(await providers.connect(ACME))["status"] == "connected"

    answer = await providers.get("/connections")
    assert answer.status_code == 200, answer.text
    views = answer.json()["data"]["connections"]
    assert [v["provider"] for v in views] == [ACME, "default"]
    assert {v["userId"] for v in views} == {"alice"}
    assert views[0]["sub"] == ACME_ALICE.sub
    assert views[0]["sub"] != views[1]["sub"]
    assert views[0]["email"] == "alice@acme.example"
    # GET /connection is one provider's view, with the same fields minus `provider`.
    default = (await providers.get("/connection")).json()["data"]
    assert default == {k: v for k, v in views[1].items() if k != "provider"}
    acme = (await providers.get("/connection", ACME)).json()["data"]
    assert acme["sub"] == ACME_ALICE.sub


async def test_each_provider_signs_in_at_its_own_hosted_ui_with_its_own_client(
    providers: Providers,
) -> None:
    await providers.connect(ACME)
    assert providers.acme.stats.code_grants == 1
    assert providers.world.hosted_ui.stats.code_grants == 0
    token = (await providers.get("/token", ACME)).json()["data"]["accessToken"]
    claims = jwt.get_unverified_claims(token)
    assert (claims["iss"], claims["client_id"]) == (ACME_ISSUER, ACME_CLIENT_ID)


async def test_tokens_identities_and_credentials_stay_apart_with_getid_once_per_pool(
    providers: Providers,
) -> None:
    await providers.connect()
    await providers.connect(ACME)

    tokens = [(await providers.get("/token", p)).json()["data"] for p in (None, ACME)]
    assert tokens[0]["accessToken"] != tokens[1]["accessToken"]
    first = [(await providers.get("/credentials", p)).json()["data"] for p in (None, ACME)]
    again = [(await providers.get("/credentials", p)).json()["data"] for p in (None, ACME)]
    assert first == again  # cached per provider
    default, acme = first
    assert default["identityId"] != acme["identityId"]
    assert providers.identities(providers.aws["pool_id"]) == [default["identityId"]]
    assert providers.identities(providers.aws["acme_pool_id"]) == [acme["identityId"]]
    # Each acts in AWS with its own identity.
    for provider in (None, ACME):
        listed = await providers.get("/s3/buckets", provider)
        assert listed.status_code == 200, listed.text
    views = (await providers.get("/connections")).json()["data"]["connections"]
    assert {v["provider"]: v["identityId"] for v in views} == {
        ACME: acme["identityId"],
        "default": default["identityId"],
    }


async def test_a_refresh_on_one_provider_never_touches_the_other(providers: Providers) -> None:
    await providers.connect()
    await providers.connect(ACME)
    before = (await providers.get("/connection")).json()["data"]
    providers.world.clock.advance(3600)  # both access tokens have expired

    refreshed = await providers.get("/token", ACME)
    assert refreshed.status_code == 200, refreshed.text
    assert providers.acme.stats.refresh_grants == 1
    assert providers.world.hosted_ui.stats.refresh_grants == 0
    assert (await providers.get("/connection")).json()["data"] == before
    acme = (await providers.get("/connection", ACME)).json()["data"]
    assert acme["lastRefreshedAt"] is not None

    assert (await providers.get("/token")).status_code == 200
    assert (
        providers.world.hosted_ui.stats.refresh_grants,
        providers.acme.stats.refresh_grants,
    ) == (
        1,
        1,
    )


async def test_disconnecting_one_provider_leaves_the_other_working(providers: Providers) -> None:
    await providers.connect()
    await providers.connect(ACME)
    await providers.get("/credentials")

    gone = await providers.replica.client.post(
        "/disconnect", params={"provider": ACME}, headers=headers(providers.key)
    )
    assert gone.json()["data"] == {"disconnected": True, "revoked": True}
    assert providers.acme.stats.sign_ins_revoked == 1
    assert providers.world.hosted_ui.stats.revocations == 0
    assert_envelope(await providers.get("/connection", ACME), ErrorCode.NOT_CONNECTED)
    views = (await providers.get("/connections")).json()["data"]["connections"]
    assert [v["provider"] for v in views] == ["default"]
    still = await providers.get("/credentials")
    assert still.status_code == 200, still.text
    assert (await providers.get("/s3/buckets")).status_code == 200


async def test_disconnect_all_disconnects_every_provider(providers: Providers) -> None:
    await providers.connect()
    await providers.connect(ACME)
    gone = await providers.replica.client.post(
        "/disconnect", params={"all": "true"}, headers=headers(providers.key)
    )
    assert gone.status_code == 200, gone.text
    assert gone.json()["data"] == {
        "disconnected": True,
        "revoked": True,
        "providers": [
            {"provider": ACME, "revoked": True},
            {"provider": "default", "revoked": True},
        ],
    }
    assert (await providers.get("/connections")).json()["data"] == {"connections": []}
    both = await providers.replica.client.post(
        "/disconnect", params={"all": "true", "provider": ACME}, headers=headers(providers.key)
    )
    assert_envelope(both, ErrorCode.VALIDATION_ERROR)


async def test_an_unknown_provider_is_a_validation_error_naming_the_choices(
    providers: Providers,
) -> None:
    for path in ("/connection", "/token", "/credentials", "/s3/buckets", "/lambda/functions"):
        refused = assert_envelope(await providers.get(path, "nope"), ErrorCode.VALIDATION_ERROR)
        assert refused.details == {"field": "provider", "choices": [ACME, "default"]}
    started = await providers.replica.client.get(
        "/connect", params={"provider": "nope"}, headers=headers(providers.key)
    )
    assert_envelope(started, ErrorCode.VALIDATION_ERROR)


async def test_a_provider_named_twice_is_refused(providers: Providers) -> None:
    await providers.connect()
    for query in ("provider=acme&provider=default", "provider=default&provider=default"):
        answer = await providers.replica.client.get(
            f"/credentials?{query}", headers=headers(providers.key)
        )
        refused = assert_envelope(answer, ErrorCode.VALIDATION_ERROR)
        assert refused.details == {"field": "provider"}
    assert providers.identities(providers.aws["pool_id"]) == []


async def test_a_key_limited_to_one_provider_is_forbidden_elsewhere_before_any_upstream_call(
    providers: Providers,
) -> None:
    await providers.connect()
    await providers.connect(ACME)
    limited = await providers.world.key(providers.replica, *ALL_SCOPES, providers=[ACME])
    stats = (providers.world.hosted_ui.stats.as_dict(), providers.acme.stats.as_dict())

    for path in ("/connection", "/token", "/credentials", "/s3/buckets"):
        answer = await providers.replica.client.get(path, headers=headers(limited))
        refused = assert_envelope(answer, ErrorCode.FORBIDDEN)
        assert refused.details == {"provider": "default"}
    assert (providers.world.hosted_ui.stats.as_dict(), providers.acme.stats.as_dict()) == stats
    assert providers.identities(providers.aws["pool_id"]) == []

    listed = await providers.replica.client.get("/connections", headers=headers(limited))
    assert [v["provider"] for v in listed.json()["data"]["connections"]] == [ACME]
    allowed = await providers.replica.client.get(
        "/credentials", params={"provider": ACME}, headers=headers(limited)
    )
    assert allowed.status_code == 200, allowed.text


async def test_an_id_token_of_the_other_providers_issuer_is_refused(
    providers: Providers,
) -> None:
    """A mix-up: the default provider's flow is answered with a token whose `iss` is acme's
    (same signing keys, same client id): the callback refuses it and stores nothing."""
    providers.world.transport.bend = providers.world.mint_bad_id_token(
        overrides={"iss": ACME_ISSUER}
    )
    location = await providers.connect()
    assert query_of(location)["error"] == "CALLBACK_FAILED"
    assert (await providers.get("/connections")).json()["data"] == {"connections": []}


async def test_rpc_acts_on_the_provider_its_params_name(providers: Providers) -> None:
    await providers.connect()
    await providers.connect(ACME)

    async def call(method: str, **params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer = await providers.replica.client.post(
            "/rpc", json=body, headers={"Authorization": f"Bearer {providers.key}"}
        )
        return answer.json()["result"]

    listed = await call("listConnections", userId="alice")
    assert [v["provider"] for v in listed["data"]["connections"]] == [ACME, "default"]
    acme = await call("getCredentials", userId="alice", provider=ACME)
    default = await call("getCredentials", userId="alice")
    assert acme["data"]["identityId"] != default["data"]["identityId"]
    unknown = await call("getConnection", userId="alice", provider="nope")
    assert (unknown["success"], unknown["code"]) == (False, "VALIDATION_ERROR")
    gone = await call("disconnect", userId="alice", provider=ACME)
    assert gone["data"] == {"disconnected": True, "revoked": True}
    left = await call("listConnections", userId="alice")
    assert [v["provider"] for v in left["data"]["connections"]] == ["default"]


@pytest.fixture
def audited_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines of the request and audit loggers while the test runs."""
    with json_lines("connector.request", "connector.audit") as lines:
        yield lines


async def test_log_lines_and_audit_events_name_the_provider_acted_on(
    providers: Providers, audited_lines: list[dict[str, Any]]
) -> None:
    await providers.connect()
    await providers.connect(ACME)
    audited_lines.clear()

    assert (await providers.get("/connection", ACME)).status_code == 200
    assert (await providers.get("/connection")).status_code == 200
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getConnection", "params": {"userId": "alice"}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "getConnection",
            "params": {"userId": "alice", "provider": ACME},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "listConnections", "params": {"userId": "alice"}},
    ]
    answer = await providers.replica.client.post(
        "/rpc", json=batch, headers={"Authorization": f"Bearer {providers.key}"}
    )
    assert answer.status_code == 200, answer.text

    rest = [line for line in audited_lines if line.get("route") == "/connection"]
    assert [(line["logger"], line.get("provider")) for line in rest] == [
        ("connector.audit", ACME),
        ("connector.request", ACME),
        ("connector.audit", "default"),
        ("connector.request", "default"),
    ]
    calls = sorted(
        (line["operation"], line.get("provider"))
        for line in audited_lines
        if line["logger"] == "connector.audit" and line.get("route") == "/rpc"
    )
    # listConnections acts over every provider: it names none.
    assert calls == [
        ("getConnection", ACME),
        ("getConnection", "default"),
        ("listConnections", None),
    ]


async def test_the_python_client_takes_a_provider_argument(providers: Providers) -> None:
    await providers.connect()
    await providers.connect(ACME)
    app = create_app(providers.world.settings, container=providers.replica.container)
    async with AsyncConnectorClient(
        CONNECTOR_URL, providers.key, transport=httpx.ASGITransport(app=app)
    ) as client:
        listed = await client.list_connections("alice")
        assert [c.provider for c in listed] == [ACME, "default"]
        assert listed[0].sub == ACME_ALICE.sub
        acme = await client.get_credentials("alice", provider=ACME)
        default = await client.get_credentials("alice")
        assert acme.identity_id != default.identity_id
        assert (await client.get_connection("alice", provider=ACME)).sub == ACME_ALICE.sub
        buckets = await client.list_buckets("alice", provider=ACME)
        assert buckets
        with pytest.raises(ValidationError):
            await client.get_token("alice", provider="nope")
        gone = await client.disconnect("alice", all_providers=True)
        assert gone.providers is not None
        assert [p.provider for p in gone.providers] == [ACME, "default"]
        assert await client.list_connections("alice") == []


async def test_with_several_providers_and_no_default_a_request_must_name_one(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> None:
    """Only a providers file, two providers, none marked default: a request without `provider`
    is VALIDATION_ERROR naming the choices; naming one works end to end (one /callback)."""
    path = providers_file(tmp_path, aws["pool_id"])
    path.write_text(
        path.read_text()
        + f'\n[providers.main]\ndomain = "{COGNITO_URL}"\nclient_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\nregion = "us-east-1"\nuser_pool_id = "{POOL_ID}"\n'
        f'issuer = "{COGNITO_URL}/{POOL_ID}"\nidentity_pool_id = "{aws["pool_id"]}"\n'
    )
    settings = Settings.from_env(
        {
            "CONNECTOR_PROVIDERS_FILE": str(path),
            "ACME_CLIENT_SECRET": ACME_CLIENT_SECRET,
            "CONNECTOR_PUBLIC_URL": CONNECTOR_URL,
            "CONNECTOR_REDIRECT_ALLOWLIST": RETURN_URL,
            "CONNECTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nodefault.db'}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "CONNECTOR_IDENTITY_BINDING": "none",
        }
    )
    assert settings.default_provider_name is None
    async with AsyncExitStack() as stack:
        world, acme = make_two_provider_world(stack, pool_keys, settings)
        made = Providers(world, acme, await world.instance(), aws)
        made.key = await world.key(made.replica, *ALL_SCOPES)
        for path_ in ("/connection", "/token", "/credentials", "/connect"):
            refused = assert_envelope(await made.get(path_), ErrorCode.VALIDATION_ERROR)
            assert refused.details == {"field": "provider", "choices": [ACME, "main"]}
            assert "acme, main" in refused.error
        assert query_of(await made.connect("main"))["status"] == "connected"
        assert query_of(await made.connect(ACME))["status"] == "connected"
        views = (await made.get("/connections")).json()["data"]["connections"]
        assert [v["provider"] for v in views] == [ACME, "main"]
        assert (await made.get("/credentials", "main")).status_code == 200
