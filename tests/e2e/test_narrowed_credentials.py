"""Credentials of a restricted key are narrowed by AWS: the connector asks STS for them with a
session policy generated from the key's policy (asserted on the request the emulator received,
and linted), caches them per (user, policy), and signs its own calls for that key with them.
moto enforces no session policy: what AWS then allows is the operator's to check (see docs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.aws_world import connect_alice, headers
from support.envelopes import assert_envelope
from support.iam_lint import findings
from support.oauth_world import CognitoWorld, Instance, make_world, world_settings
from support.signers import SigningRecorder

from connector.domain.session_policy import session_policy
from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet

MOTO_COGNITO_KEY = "TESTACCESSKEY12345"  # what moto's enhanced flow always answers
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }
    ],
}
RESTRICTED = {"buckets": ("alice-*",), "read_only": True}


async def make_restricted_world(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any], stack: AsyncExitStack, **extra: str
) -> tuple[CognitoWorld, str]:
    role = aws["iam"].create_role(
        RoleName="connector-restricted", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'narrow.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        CONNECTOR_RESTRICTED_ROLE_ARN=role,
        **extra,
    )
    return make_world(stack, pool_keys, settings), role


@pytest.fixture
async def narrowing(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> AsyncIterator[tuple[CognitoWorld, Instance, str]]:
    """Unrestricted keys keep the enhanced flow; restricted ones get the basic flow's role."""
    async with AsyncExitStack() as stack:
        world, role = await make_restricted_world(tmp_path, pool_keys, aws, stack)
        replica = await world.instance()
        await connect_alice(world, replica)
        yield world, replica, role


async def test_a_restricted_keys_credentials_carry_the_generated_session_policy(
    narrowing: tuple[CognitoWorld, Instance, str], signatures: SigningRecorder
) -> None:
    world, replica, role = narrowing
    key = await world.key(replica, "credentials:read", "s3:read", **RESTRICTED)
    signatures.clear()
    answer = await replica.client.get("/credentials", headers=headers(key))
    assert answer.status_code == 200, answer.text
    (assumed,) = signatures.actions("AssumeRoleWithWebIdentity")
    expected = session_policy(("alice-*",), (), read_only=True).document
    assert assumed.form["Policy"] == expected
    assert assumed.form["RoleArn"] == role
    assert assumed.form["RoleSessionName"] == "alice"  # CloudTrail names the app's user
    assert findings(assumed.form["Policy"]) == []
    assert answer.json()["data"]["accessKeyId"].startswith("ASIA")  # STS's, not Cognito's


async def test_an_unrestricted_key_keeps_the_enhanced_flow(
    narrowing: tuple[CognitoWorld, Instance, str], signatures: SigningRecorder
) -> None:
    world, replica, _ = narrowing
    key = await world.key(replica, "credentials:read")
    signatures.clear()
    answer = await replica.client.get("/credentials", headers=headers(key))
    assert answer.json()["data"]["accessKeyId"] == MOTO_COGNITO_KEY
    assert signatures.actions("AssumeRoleWithWebIdentity") == []


async def test_the_connectors_own_calls_for_a_restricted_key_use_the_narrowed_credentials(
    narrowing: tuple[CognitoWorld, Instance, str], signatures: SigningRecorder
) -> None:
    world, replica, _ = narrowing
    key = await world.key(replica, "credentials:read", "s3:read", **RESTRICTED)
    narrowed = (await replica.client.get("/credentials", headers=headers(key))).json()["data"]
    signatures.clear()
    listed = await replica.client.get("/s3/buckets", headers=headers(key))
    assert listed.status_code == 200, listed.text
    # s3:ListAllMyBuckets cannot be limited by IAM: the connector still filters the listing.
    assert sorted(b["name"] for b in listed.json()["data"]["buckets"]) == [
        "alice-archive",
        "alice-data",
    ]
    assert signatures.signers("s3") == {narrowed["accessKeyId"]}
    open_key = await world.key(replica, "s3:read")
    signatures.clear()
    assert (await replica.client.get("/s3/buckets", headers=headers(open_key))).status_code == 200
    assert signatures.signers("s3") == {MOTO_COGNITO_KEY}


async def test_narrowed_credentials_are_minted_once_per_user_and_policy(
    narrowing: tuple[CognitoWorld, Instance, str], signatures: SigningRecorder
) -> None:
    world, replica, _ = narrowing
    first = await world.key(replica, "credentials:read", **RESTRICTED)
    same_policy = await world.key(replica, "credentials:read", **RESTRICTED)
    other_policy = await world.key(replica, "credentials:read", buckets=("team-*",))
    signatures.clear()
    answers = await asyncio.gather(
        *(
            replica.client.get("/credentials", headers=headers(k))
            for k in [first] * 10 + [same_policy] * 10
        )
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["data"]["accessKeyId"] for a in answers}) == 1
    assert len(signatures.actions("AssumeRoleWithWebIdentity")) == 1
    other = await replica.client.get("/credentials", headers=headers(other_policy))
    assert other.json()["data"]["accessKeyId"] != answers[0].json()["data"]["accessKeyId"]
    policies = [r.form["Policy"] for r in signatures.actions("AssumeRoleWithWebIdentity")]
    assert len(policies) == 2
    assert '"arn:aws:s3:::team-*"' in policies[1]


async def test_the_container_route_narrows_like_credentials(
    narrowing: tuple[CognitoWorld, Instance, str], signatures: SigningRecorder
) -> None:
    world, replica, _ = narrowing
    key = await world.key(replica, "credentials:read", **RESTRICTED)
    signatures.clear()
    answer = await replica.client.get(
        "/container-credentials/alice", headers={"Authorization": key}
    )
    assert answer.status_code == 200, answer.text
    (assumed,) = signatures.actions("AssumeRoleWithWebIdentity")
    assert assumed.form["Policy"] == session_policy(("alice-*",), (), read_only=True).document


async def test_hashed_session_names_when_asked(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any], signatures: SigningRecorder
) -> None:
    async with AsyncExitStack() as stack:
        world, _ = await make_restricted_world(
            tmp_path, pool_keys, aws, stack, CONNECTOR_SESSION_NAME="hash"
        )
        replica = await world.instance()
        await connect_alice(world, replica)
        key = await world.key(replica, "credentials:read", **RESTRICTED)
        signatures.clear()
        assert (await replica.client.get("/credentials", headers=headers(key))).status_code == 200
    (assumed,) = signatures.actions("AssumeRoleWithWebIdentity")
    name = assumed.form["RoleSessionName"]
    assert name.startswith("u-")
    assert "alice" not in name


@pytest.mark.parametrize(
    "route", ["/credentials", "/container-credentials/alice", "rpc:getCredentials"]
)
async def test_without_a_role_restricted_keys_are_refused_credentials_naming_the_setting(
    world: CognitoWorld, replica: Instance, route: str
) -> None:
    await connect_alice(world, replica)
    key = await world.key(replica, "credentials:read", "s3:read", **RESTRICTED)
    if route.startswith("rpc:"):
        call = {"jsonrpc": "2.0", "id": 1, "method": route[4:], "params": {"userId": "alice"}}
        reply = await replica.client.post(
            "/rpc", headers={"Authorization": f"Bearer {key}"}, json=call
        )
        result = reply.json()["result"]
        assert (result["success"], result["code"]) == (False, "FORBIDDEN")
        assert "CONNECTOR_RESTRICTED_ROLE_ARN" in result["error"]
        return
    sent = {"Authorization": key} if "container" in route else headers(key)
    answer = await replica.client.get(route, headers=sent)
    assert_envelope(answer, ErrorCode.FORBIDDEN)
    assert "CONNECTOR_RESTRICTED_ROLE_ARN" in answer.json()["error"]
    assert "classic flow" in answer.json()["error"]


async def test_without_a_role_the_connector_still_acts_for_a_restricted_key(
    world: CognitoWorld, replica: Instance, signatures: SigningRecorder
) -> None:
    """Its own calls then use the user's credentials; the key's policy is the connector's."""
    await connect_alice(world, replica)
    key = await world.key(replica, "s3:read", **RESTRICTED)
    listed = await replica.client.get("/s3/buckets", headers=headers(key))
    assert listed.status_code == 200, listed.text
    assert signatures.signers("s3") == {MOTO_COGNITO_KEY}
    refused = await replica.client.get("/s3/buckets/team-shared/objects", headers=headers(key))
    assert_envelope(refused, ErrorCode.FORBIDDEN)


async def test_a_role_key_runs_as_the_users_credentials_chained_into_the_role(
    world: CognitoWorld,
    replica: Instance,
    aws: dict[str, Any],
    signatures: SigningRecorder,
) -> None:
    elevated_role = aws["iam"].create_role(
        RoleName="connector-elevated", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    await connect_alice(world, replica)
    key = await world.key(
        replica, "credentials:read", "s3:read", role=elevated_role, buckets=("alice-*",)
    )
    signatures.clear()
    answer = await replica.client.get("/credentials", headers=headers(key))
    assert answer.status_code == 200, answer.text
    elevated = answer.json()["data"]["accessKeyId"]
    (assumed,) = signatures.actions("AssumeRole")
    # Signed with alice's own credentials, named after her, her identity carried along.
    assert assumed.access_key_id == MOTO_COGNITO_KEY
    assert assumed.form["RoleArn"] == elevated_role
    assert assumed.form["RoleSessionName"] == "alice"
    assert assumed.form["SourceIdentity"] == "alice"
    assert assumed.form["Policy"] == session_policy(("alice-*",), (), read_only=False).document
    assert elevated.startswith("ASIA")
    signatures.clear()
    listed = await replica.client.get("/s3/buckets", headers=headers(key))
    assert listed.status_code == 200, listed.text
    assert signatures.signers("s3") == {elevated}
    assert signatures.actions("AssumeRole") == []  # cached
