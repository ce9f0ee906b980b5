"""CognitoIdentityBroker against moto: GetId, the enhanced flow and the basic (STS) flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from support.servers import free_port

from connector.adapters.aws_clients import AwsClients
from connector.adapters.cognito_identity import CognitoIdentityBroker
from connector.errors import InternalError, UpstreamUnavailableError
from connector.settings import CognitoSettings

REGION = "us-east-1"
POOL_ID = "us-east-1_Connect1"
ISSUER = f"http://cognito.test/{POOL_ID}"
ID_TOKEN = "header.payload.signature"  # moto accepts any Logins token


def cognito_settings(identity_pool_id: str | None) -> CognitoSettings:
    return CognitoSettings(
        base_url="http://cognito.test",
        client_id="connector-client",
        client_secret=None,
        region=REGION,
        user_pool_id=POOL_ID,
        identity_pool_id=identity_pool_id,
        issuer=ISSUER,
    )


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    made = AwsClients(region=REGION)
    yield made
    made.close()


@pytest.fixture
def aws(clients: AwsClients) -> Iterator[dict[str, Any]]:
    """moto in-process, with an identity pool trusting the stand-in's issuer."""
    with mock_aws():
        identity = boto3.client("cognito-identity", region_name=REGION)
        pool_id = identity.create_identity_pool(
            IdentityPoolName="connector_test",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {"ProviderName": ISSUER.split("://", 1)[1], "ClientId": "connector-client"}
            ],
        )["IdentityPoolId"]
        yield {"identity": identity, "pool_id": pool_id}


async def test_get_identity_id_asks_the_pool_once_per_call(
    aws: dict[str, Any], clients: AwsClients
) -> None:
    broker = CognitoIdentityBroker(cognito_settings(aws["pool_id"]), clients)
    identity_id = await broker.get_identity_id(ID_TOKEN)
    assert identity_id.startswith(f"{REGION}:")
    listed = aws["identity"].list_identities(IdentityPoolId=aws["pool_id"], MaxResults=10)
    assert [i["IdentityId"] for i in listed["Identities"]] == [identity_id]


async def test_the_enhanced_flow_returns_credentials_that_work(
    aws: dict[str, Any], clients: AwsClients
) -> None:
    broker = CognitoIdentityBroker(cognito_settings(aws["pool_id"]), clients)
    identity_id = await broker.get_identity_id(ID_TOKEN)
    credentials = await broker.get_credentials(identity_id, ID_TOKEN, user_id="alice")
    assert credentials.identity_id == identity_id
    assert credentials.access_key_id
    assert credentials.secret_access_key
    assert credentials.session_token
    assert credentials.expiration.tzinfo is not None
    assert credentials.expiration.utcoffset() == timedelta(0)
    lifetime = credentials.expiration - credentials.issued_at
    assert timedelta(seconds=60) < lifetime <= timedelta(seconds=90)  # moto: 90 s
    s3 = clients.client("s3", credentials)
    s3.create_bucket(Bucket="alice-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["alice-bucket"]


async def test_the_basic_flow_assumes_the_role_through_sts(
    aws: dict[str, Any], clients: AwsClients
) -> None:
    role_arn = boto3.client("iam", region_name=REGION).create_role(
        RoleName="connector-authenticated",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    broker = CognitoIdentityBroker(
        cognito_settings(aws["pool_id"]), clients, role_arn=role_arn, session_seconds=900
    )
    identity_id = await broker.get_identity_id(ID_TOKEN)
    credentials = await broker.get_credentials(identity_id, ID_TOKEN, user_id="alice@example.com")
    assert credentials.identity_id == identity_id
    assert credentials.access_key_id.startswith("ASIA")
    lifetime = credentials.expiration - credentials.issued_at
    assert timedelta(seconds=880) < lifetime <= timedelta(seconds=900)
    caller = clients.client("sts", credentials).get_caller_identity()
    # CloudTrail names the user: the session is named after the user id (STS accepts it).
    assert caller["Arn"].endswith(":assumed-role/connector-authenticated/alice@example.com")


async def test_without_an_identity_pool_the_broker_says_so(clients: AwsClients) -> None:
    broker = CognitoIdentityBroker(cognito_settings(None), clients)
    with pytest.raises(InternalError, match="AWS_COGNITO_IDENTITY_POOL_ID"):
        await broker.get_identity_id(ID_TOKEN)


async def test_an_unreachable_cognito_is_upstream_unavailable_for_get_connection(
    clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    broker = CognitoIdentityBroker(cognito_settings(f"{REGION}:pool"), clients)
    with pytest.raises(UpstreamUnavailableError) as caught:
        await broker.get_identity_id(ID_TOKEN)
    assert caught.value.details["operation"] == "GET_CONNECTION"
    assert caught.value.details["upstreamCode"] == "EndpointConnectionError"
    assert ID_TOKEN not in caught.value.message
    assert caught.value.__cause__ is not None
