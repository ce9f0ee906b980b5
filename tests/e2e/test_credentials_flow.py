"""GET /credentials end to end: Hosted UI stand-in -> connector -> Cognito Identity on moto."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from cryptography.fernet import Fernet
from envelopes import assert_envelope
from moto.server import ThreadedMotoServer
from oauth_world import CLIENT_ID, COGNITO_URL, POOL_ID, CognitoWorld, Instance, make_world
from oauth_world import world_settings as base_settings

from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet

REGION = "us-east-1"
PROVIDER = f"{COGNITO_URL.split('://', 1)[1]}/{POOL_ID}"  # the issuer without its scheme
MOTO_LIFETIME = 90


@pytest.fixture(scope="session")
def pool_keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """boto3 pointed at moto (dummy credentials for the setup), a fresh state, an identity pool
    trusting the stand-in's user pool."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    identity = boto3.client("cognito-identity", region_name=REGION)
    pool_id = identity.create_identity_pool(
        IdentityPoolName="connector_e2e",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": PROVIDER, "ClientId": CLIENT_ID}],
    )["IdentityPoolId"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="alice-data")
    return {"identity": identity, "pool_id": pool_id}


@pytest.fixture
async def world(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> AsyncIterator[CognitoWorld]:
    settings = base_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'creds.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


@pytest.fixture
async def replica(world: CognitoWorld) -> Instance:
    return await world.instance()


async def connected_key(world: CognitoWorld, replica: Instance) -> str:
    """Connect alice through the Hosted UI; return a key that may read her credentials."""
    connect_key = await world.key(replica, "connect")
    answer = await world.connect(replica, connect_key)
    assert answer.status_code == 302, answer.text
    return await world.key(replica, "credentials:read", "connection:read")


def headers(key: str, user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-User-Id": user}


def identities(aws: dict[str, Any]) -> list[str]:
    listed = aws["identity"].list_identities(IdentityPoolId=aws["pool_id"], MaxResults=60)
    return [i["IdentityId"] for i in listed["Identities"]]


async def test_credentials_of_a_connected_user_work_with_plain_boto3(
    world: CognitoWorld, replica: Instance, aws: dict[str, Any]
) -> None:
    key = await connected_key(world, replica)
    response = await replica.client.get("/credentials", headers=headers(key))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {
        "accessKeyId",
        "secretAccessKey",
        "sessionToken",
        "expiration",
        "identityId",
        "Version",
    }
    assert data["Version"] == 1
    assert data["expiration"].endswith("Z")
    assert data["identityId"] == identities(aws)[0]
    view = (await replica.client.get("/connection", headers=headers(key))).json()["data"]
    assert view["identityId"] == data["identityId"]
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=data["accessKeyId"],
        aws_secret_access_key=data["secretAccessKey"],
        aws_session_token=data["sessionToken"],
    )
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["alice-data"]


async def test_get_id_runs_once_across_twenty_requests(
    world: CognitoWorld, replica: Instance, aws: dict[str, Any]
) -> None:
    key = await connected_key(world, replica)
    answers = [await replica.client.get("/credentials", headers=headers(key)) for _ in range(20)]
    assert {a.status_code for a in answers} == {200}
    assert len(identities(aws)) == 1
    assert len({a.json()["data"]["expiration"] for a in answers}) == 1  # one mint, then cached


async def test_credentials_need_the_credentials_read_scope(
    world: CognitoWorld, replica: Instance
) -> None:
    await connected_key(world, replica)
    default_key = await world.key(replica, "connect", "connection:read", "token:read")
    refused = await replica.client.get("/credentials", headers=headers(default_key))
    assert_envelope(refused, ErrorCode.FORBIDDEN)
    anonymous = await replica.client.get("/credentials", headers={"X-User-Id": "alice"})
    assert_envelope(anonymous, ErrorCode.UNAUTHORIZED)


async def test_a_user_without_a_connection_is_not_connected(
    world: CognitoWorld, replica: Instance
) -> None:
    key = await world.key(replica, "credentials:read")
    assert_envelope(
        await replica.client.get("/credentials", headers=headers(key, "nobody")),
        ErrorCode.NOT_CONNECTED,
    )
    assert_envelope(
        await replica.client.get("/credentials", headers={"Authorization": f"Bearer {key}"}),
        ErrorCode.MISSING_USER_ID,
    )


async def test_credentials_are_re_minted_after_they_expire(
    world: CognitoWorld, replica: Instance, aws: dict[str, Any]
) -> None:
    key = await connected_key(world, replica)
    first = (await replica.client.get("/credentials", headers=headers(key))).json()["data"]
    world.clock.advance(MOTO_LIFETIME + 1)
    second = (await replica.client.get("/credentials", headers=headers(key))).json()["data"]
    first_expiry = datetime.fromisoformat(first["expiration"])
    second_expiry = datetime.fromisoformat(second["expiration"])
    assert second_expiry - first_expiry >= timedelta(seconds=MOTO_LIFETIME)
    assert second_expiry > world.clock.now()
    assert second["identityId"] == first["identityId"]
    assert len(identities(aws)) == 1  # re-minting reuses the stored identity id


async def test_disconnect_forgets_the_credentials(world: CognitoWorld, replica: Instance) -> None:
    key = await connected_key(world, replica)
    assert (await replica.client.get("/credentials", headers=headers(key))).status_code == 200
    connect_key = await world.key(replica, "connect")
    gone = await replica.client.post("/disconnect", headers=headers(connect_key))
    assert gone.status_code == 200, gone.text
    assert_envelope(
        await replica.client.get("/credentials", headers=headers(key)), ErrorCode.NOT_CONNECTED
    )
