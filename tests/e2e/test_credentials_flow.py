"""GET /credentials end to end: Hosted UI stand-in -> connector -> Cognito Identity on moto."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
from support.aws_world import BUCKETS, MOTO_LIFETIME, REGION, connect_alice, headers, identities
from support.envelopes import assert_envelope
from support.oauth_world import CognitoWorld, Instance

from connector.errors import ErrorCode


async def connected_key(world: CognitoWorld, replica: Instance) -> str:
    """Connect alice through the Hosted UI; return a key that may read her credentials."""
    await connect_alice(world, replica)
    return await world.key(replica, "credentials:read", "connection:read")


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
    }
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
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == sorted(BUCKETS)


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
