"""Any AWS SDK acts as alice: real boto3 and the AWS CLI, in processes of their own, read
credentials from GET /container-credentials/{userId} (AWS_CONTAINER_CREDENTIALS_FULL_URI +
AWS_CONTAINER_AUTHORIZATION_TOKEN) and from `connector credential-process`, and list alice's
buckets on the emulator, through a credential refresh. The basic flow (a role ARN) gives each
mint its own access key id, so the emulator's records show which credentials signed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.aws_cli import aws_cli_python
from support.aws_world import BUCKETS, connect_alice
from support.envelopes import assert_envelope
from support.live_server import serving
from support.oauth_world import CognitoWorld, Instance, make_world, world_settings
from support.signers import CONNECTOR_ACCESS_KEY, SigningRecorder

from connector.app import create_app
from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet

LIFETIME = 900  # CONNECTOR_CREDENTIALS_DURATION: STS's shortest session
# Into the mandatory window (the last sixth of the lifetime): the next request re-mints.
PAST_MANDATORY = LIFETIME - LIFETIME // 6 + 10
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


@pytest.fixture
async def basic_world(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> AsyncIterator[CognitoWorld]:
    """The identity pool's basic flow: STS gives every mint its own key id."""
    role = aws["iam"].create_role(
        RoleName="connector-users", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'sdk.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
        AWS_COGNITO_ROLE_ARN=role,
        CONNECTOR_CREDENTIALS_DURATION=str(LIFETIME),
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


@pytest.fixture
async def live(basic_world: CognitoWorld) -> AsyncIterator[tuple[Instance, str]]:
    """A replica with alice connected, also served over real HTTP."""
    replica = await basic_world.instance()
    await connect_alice(basic_world, replica)
    app = create_app(basic_world.settings, container=replica.container)
    async with serving(app) as url:
        yield replica, url


def sdk_environment(moto_endpoint: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment with no AWS credentials of its own: only what is given."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        **extra,
    }


async def run(env: dict[str, str], *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def aws_cli(env: dict[str, str]) -> list[str]:
    code, out, err = await run(env, aws_cli_python(), "-m", "awscli", "s3api", "list-buckets")
    assert code == 0, err
    return sorted(b["Name"] for b in json.loads(out)["Buckets"])


def list_signers(signatures: SigningRecorder) -> list[str | None]:
    """Who signed each ListBuckets (GET /) moto received, in order."""
    return [
        r.access_key_id
        for r in signatures.requests
        if r.service == "s3" and r.method == "GET" and r.path == "/"
    ]


async def test_the_container_route_answers_what_the_sdks_parse(
    basic_world: CognitoWorld, live: tuple[Instance, str]
) -> None:
    replica, _ = live
    key = await basic_world.key(replica, "credentials:read")
    answer = await replica.client.get(
        "/container-credentials/alice", headers={"Authorization": key}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert body["AccessKeyId"].startswith("ASIA")
    assert body["Expiration"].endswith("Z")
    assert len(body["Expiration"]) == len("2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("user", "authorization", "code"),
    [
        ("alice", None, ErrorCode.UNAUTHORIZED),
        ("alice", "ck_0000000000000000_" + "x" * 43, ErrorCode.UNAUTHORIZED),
        ("nobody", "KEY", ErrorCode.NOT_CONNECTED),
        ("al ice", "KEY", ErrorCode.VALIDATION_ERROR),
    ],
)
async def test_the_container_route_fails_with_an_envelope(
    basic_world: CognitoWorld,
    live: tuple[Instance, str],
    user: str,
    authorization: str | None,
    code: ErrorCode,
) -> None:
    replica, _ = live
    key = await basic_world.key(replica, "credentials:read")
    headers = {} if authorization is None else {"Authorization": authorization.replace("KEY", key)}
    answer = await replica.client.get(f"/container-credentials/{user}", headers=headers)
    assert_envelope(answer, code)


async def test_the_container_route_needs_credentials_read(
    basic_world: CognitoWorld, live: tuple[Instance, str]
) -> None:
    replica, _ = live
    key = await basic_world.key(replica, "s3:read")
    answer = await replica.client.get(
        "/container-credentials/alice", headers={"Authorization": key}
    )
    assert_envelope(answer, ErrorCode.FORBIDDEN)


BOTO3_SCRIPT = """
import json, sys
import boto3
s3 = boto3.client("s3")
for _ in range(2):
    names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    print(json.dumps(names), flush=True)
    sys.stdin.readline()  # the test moves the connector's clock, then lets us go on
"""


async def test_boto3_acts_as_alice_through_container_credentials_across_a_refresh(
    basic_world: CognitoWorld,
    live: tuple[Instance, str],
    moto_endpoint: str,
    tmp_path: Path,
    signatures: SigningRecorder,
) -> None:
    replica, url = live
    key = await basic_world.key(replica, "credentials:read")
    env = sdk_environment(
        moto_endpoint,
        tmp_path,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{url}/container-credentials/alice",
        AWS_CONTAINER_AUTHORIZATION_TOKEN=key,
    )
    signatures.clear()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BOTO3_SCRIPT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert json.loads(first) == sorted(BUCKETS)
    basic_world.clock.advance(PAST_MANDATORY)
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    second = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    process.stdin.write(b"go\n")
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert json.loads(second) == sorted(BUCKETS)
    before, after = list_signers(signatures)
    # Both signed as alice, the second with the credentials the connector re-minted.
    assert before is not None
    assert after is not None
    assert before != after
    assert CONNECTOR_ACCESS_KEY not in (before, after)
    assert all(k.startswith("ASIA") for k in (before, after))


async def test_the_aws_cli_acts_as_alice_through_container_credentials_across_a_refresh(
    basic_world: CognitoWorld,
    live: tuple[Instance, str],
    moto_endpoint: str,
    tmp_path: Path,
    signatures: SigningRecorder,
) -> None:
    replica, url = live
    key = await basic_world.key(replica, "credentials:read")
    env = sdk_environment(
        moto_endpoint,
        tmp_path,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{url}/container-credentials/alice",
        AWS_CONTAINER_AUTHORIZATION_TOKEN=key,
    )
    signatures.clear()
    assert await aws_cli(env) == sorted(BUCKETS)
    basic_world.clock.advance(PAST_MANDATORY)
    assert await aws_cli(env) == sorted(BUCKETS)
    before, after = list_signers(signatures)
    assert before is not None
    assert after is not None
    assert before != after
    assert all(k.startswith("ASIA") for k in (before, after))


async def test_the_sdks_error_shows_the_connectors_message(
    live: tuple[Instance, str], moto_endpoint: str, tmp_path: Path
) -> None:
    _, url = live
    env = sdk_environment(
        moto_endpoint,
        tmp_path,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{url}/container-credentials/alice",
        AWS_CONTAINER_AUTHORIZATION_TOKEN="ck_0000000000000000_" + "x" * 43,
    )
    code, _, err = await run(env, aws_cli_python(), "-m", "awscli", "s3api", "list-buckets")
    assert code != 0
    assert "a valid API key is required" in err


async def test_the_aws_cli_acts_as_alice_through_credential_process(
    basic_world: CognitoWorld,
    live: tuple[Instance, str],
    moto_endpoint: str,
    tmp_path: Path,
    signatures: SigningRecorder,
) -> None:
    replica, url = live
    key = await basic_world.key(replica, "credentials:read")
    config = tmp_path / "aws-config"
    command = f"{sys.executable} -m connector credential-process --url {url} --user alice"
    config.write_text(f"[default]\ncredential_process = {command}\nregion = us-east-1\n")
    env = sdk_environment(
        moto_endpoint,
        tmp_path,
        AWS_CONFIG_FILE=str(config),
        CONNECTOR_API_KEY=key,
        CONNECTOR_LOG_LEVEL="WARNING",
    )
    signatures.clear()
    assert await aws_cli(env) == sorted(BUCKETS)
    basic_world.clock.advance(PAST_MANDATORY)
    assert await aws_cli(env) == sorted(BUCKETS)
    before, after = list_signers(signatures)
    assert before is not None
    assert after is not None
    assert before != after


async def test_credential_process_prints_the_sdk_format(
    basic_world: CognitoWorld, live: tuple[Instance, str], tmp_path: Path
) -> None:
    replica, url = live
    key = await basic_world.key(replica, "credentials:read")
    env = {"PATH": os.environ.get("PATH", ""), "CONNECTOR_API_KEY": key}
    code, out, err = await run(
        env,
        sys.executable,
        "-m",
        "connector",
        "credential-process",
        "--url",
        url,
        "--user",
        "alice",
    )
    assert code == 0, err
    printed = json.loads(out)
    assert set(printed) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    assert printed["Version"] == 1
    assert printed["Expiration"].endswith("Z")
    code, _, err = await run(
        {**env, "CONNECTOR_API_KEY": ""},
        sys.executable,
        "-m",
        "connector",
        "credential-process",
        "--url",
        url,
        "--user",
        "alice",
    )
    assert code != 0
    assert "CONNECTOR_API_KEY" in err
