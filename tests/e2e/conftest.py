"""The AWS side of end-to-end tests: moto's server on 127.0.0.1, an identity pool trusting the
Hosted UI stand-in's user pool, and what alice may reach (buckets, a Lambda function)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from cryptography.fernet import Fernet
from support.aws_world import BUCKETS, ECHO, FUNCTIONS, PROVIDER, REGION, zip_one
from support.oauth_world import CLIENT_ID, CognitoWorld, Instance, make_world
from support.oauth_world import world_settings as base_settings
from support.servers import moto_server
from support.signers import (
    CONNECTOR_ACCESS_KEY,
    OPERATOR_ACCESS_KEY,
    SigningRecorder,
    recording,
)

from connector.sandbox.hosted_ui import KeySet


@pytest.fixture(scope="session")
def pool_keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def signatures() -> Iterator[SigningRecorder]:
    """Who signed each request moto receives during the test."""
    with recording() as recorder:
        yield recorder


@pytest.fixture
def aws(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, signatures: SigningRecorder
) -> Iterator[dict[str, Any]]:
    """boto3 pointed at moto, a fresh state, an identity pool trusting the stand-in's user
    pool, BUCKETS and FUNCTIONS. The connector's own credentials (boto3's default chain) are
    CONNECTOR_ACCESS_KEY; the test seeds moto as OPERATOR_ACCESS_KEY.

    After the test: every S3 and Lambda request moto received was signed, and none with the
    connector's own key (a gateway signing with it instead of the user's fails every test)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CONNECTOR_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "connector-own-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    httpx.post(
        f"{moto_endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10
    ).raise_for_status()
    operator = boto3.Session(
        aws_access_key_id=OPERATOR_ACCESS_KEY,
        aws_secret_access_key="operator-secret",
        region_name=REGION,
    )
    identity = operator.client("cognito-identity")
    pool_id = identity.create_identity_pool(
        IdentityPoolName="connector_e2e",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": PROVIDER, "ClientId": CLIENT_ID}],
    )["IdentityPoolId"]
    s3 = operator.client("s3")
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    lambda_ = operator.client("lambda")
    iam = operator.client("iam")
    role = iam.create_role(
        RoleName="e2e-lambda",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    for name in FUNCTIONS:
        lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": zip_one("index.py", ECHO)},
            Description=f"the {name} function",
        )
    signatures.clear()
    yield {
        "identity": identity,
        "pool_id": pool_id,
        "s3": s3,
        "lambda": lambda_,
        "iam": iam,
        "sts": operator.client("sts"),
        "operator": operator,
    }
    as_connector = [
        r
        for r in signatures.requests
        if r.service in ("s3", "lambda") and r.access_key_id in (None, CONNECTOR_ACCESS_KEY)
    ]
    assert not as_connector, f"S3/Lambda requests not signed as a user: {as_connector[:3]}"


@pytest.fixture
async def world(
    tmp_path: Path, pool_keys: KeySet, aws: dict[str, Any]
) -> AsyncIterator[CognitoWorld]:
    settings = base_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"],
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


@pytest.fixture
async def replica(world: CognitoWorld) -> Instance:
    return await world.instance()
