"""What the s3:// store says when S3 fails: at start-up one line naming the variable to fix, at
run time an error code with a message saying what to fix; a damaged record hurts one user only."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.stub import Stubber
from cryptography.fernet import Fernet
from support.factories import make_api_key, make_connection
from support.moto_s3 import REGION

from connector.adapters.aws_clients import AwsClients
from connector.adapters.crypto import FernetCipher
from connector.adapters.s3_store import S3Database
from connector.adapters.s3_store.layout import S3Layout, encode_name
from connector.adapters.s3_store.objects import S3Objects
from connector.bootstrap import open_database
from connector.errors import (
    ConfigurationError,
    ErrorCode,
    InternalError,
    UpstreamUnavailableError,
)
from connector.services.reencryption import Reencryptor
from connector.settings import DatabaseSettings, Settings

PREFIX = "connector/"
CIPHER = FernetCipher((Fernet.generate_key().decode(),))


@pytest.fixture
async def database(bucket: str) -> AsyncIterator[S3Database]:
    opened = await S3Database.open(f"s3://{bucket}/{PREFIX}", region=REGION)
    yield opened
    await opened.close()


@pytest.fixture
async def stubbed(bucket: str) -> AsyncIterator[tuple[S3Database, Stubber]]:
    """An opened store whose S3 client then answers what the test stubs, and nothing else."""
    clients = AwsClients(region=REGION)
    opened = await S3Database.open(f"s3://{bucket}/{PREFIX}", region=REGION, clients=clients)
    try:
        with Stubber(clients.service_client("s3")) as stub:
            yield opened, stub
            stub.assert_no_pending_responses()
    finally:
        await opened.close()


def settings_for(url: str) -> Settings:
    return Settings(database=DatabaseSettings(url=url))


def connection_key(user_id: str) -> str:
    return f"{PREFIX}connections/{encode_name(user_id)}.json"


@pytest.fixture
async def unchecked() -> AsyncIterator[S3Database]:
    """A store that skipped the start-up check, to meet failures at run time (its client is
    made at the first call, after the test's environment is in place)."""
    layout = S3Layout.from_url(f"s3://connector-bucket/{PREFIX}")
    objects = S3Objects(AwsClients(region=REGION), layout, kms_key_id=None, conditional_writes=True)
    database = S3Database(objects)
    yield database
    await database.close()


# --- start-up: one ConfigurationError naming the variable -------------------------------------


async def test_start_up_with_a_missing_bucket_says_to_create_it(s3: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await open_database(settings_for("s3://connector-missing/prefix/"))

    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert raised.value.problem == (
        "bucket 'connector-missing' does not exist: create it or fix CONNECTOR_DATABASE_URL"
    )


@pytest.mark.usefixtures("no_aws_credentials")
async def test_start_up_without_aws_credentials_says_where_boto3_looks() -> None:
    with pytest.raises(ConfigurationError) as raised:
        await open_database(settings_for("s3://connector-bucket/prefix/"))

    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert raised.value.problem.startswith("no AWS credentials for the S3 store")
    assert "default chain" in raised.value.problem


async def test_start_up_with_an_unreachable_endpoint_names_it(unreachable_endpoint: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await open_database(settings_for("s3://connector-bucket/prefix/"))

    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert raised.value.problem.startswith(f"S3 is unreachable at {unreachable_endpoint}")
    assert "AWS_ENDPOINT_URL" in raised.value.problem


@pytest.mark.parametrize("code", ["AccessDenied", "403"])
async def test_start_up_with_access_denied_points_to_the_iam_policy(bucket: str, code: str) -> None:
    clients = AwsClients(region=REGION)
    with Stubber(clients.service_client("s3")) as stub:
        stub.add_client_error("list_objects_v2", code, http_status_code=403)
        with pytest.raises(ConfigurationError) as raised:
            await S3Database.open(f"s3://{bucket}/{PREFIX}", region=REGION, clients=clients)

    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert f"S3 denied the service's credentials to list s3://{bucket}/{PREFIX}" in str(
        raised.value
    )
    assert "README section 'Keeping connections in S3'" in raised.value.problem


async def test_start_up_on_an_endpoint_without_conditional_writes_names_the_fallback(
    bucket: str,
) -> None:
    clients = AwsClients(region=REGION)
    with Stubber(clients.service_client("s3")) as stub:
        stub.add_response("list_objects_v2", {"KeyCount": 0, "IsTruncated": False})
        stub.add_client_error("put_object", "NotImplemented", http_status_code=501)
        with pytest.raises(ConfigurationError) as raised:
            await S3Database.open(f"s3://{bucket}/{PREFIX}", region=REGION, clients=clients)

    assert "CONNECTOR_DATABASE_CONDITIONAL_WRITES=false" in raised.value.problem


# --- run time: a code and a message saying what to fix ----------------------------------------


async def test_a_bucket_deleted_under_a_running_store_is_an_internal_error_saying_so(
    s3: Any, bucket: str, database: S3Database
) -> None:
    s3.delete_bucket(Bucket=bucket)

    for attempt in (
        database.connections.get("alice"),
        database.connections.put(make_connection("alice", CIPHER), expected_version=None),
        database.ping(),
    ):
        with pytest.raises(InternalError) as raised:
            await attempt
        assert raised.value.error_code is ErrorCode.INTERNAL_ERROR
        assert raised.value.message == (
            f"bucket {bucket!r} does not exist: create it or fix CONNECTOR_DATABASE_URL"
        )
        assert raised.value.details["upstreamCode"] == "NoSuchBucket"


@pytest.mark.parametrize(
    ("code", "status", "says"),
    [
        ("AccessDenied", 403, "grant its role the policy of the README section"),
        ("InvalidAccessKeyId", 403, "S3 denied the service's credentials"),
        ("KMS.NotFoundException", 400, "check CONNECTOR_DATABASE_KMS_KEY_ID"),
        ("KMS.DisabledException", 400, "kms:GenerateDataKey and kms:Decrypt"),
    ],
)
async def test_refusals_at_run_time_say_what_to_fix(
    stubbed: tuple[S3Database, Stubber], bucket: str, code: str, status: int, says: str
) -> None:
    database, stub = stubbed
    stub.add_client_error("put_object", code, http_status_code=status)

    with pytest.raises(InternalError) as raised:
        await database.connections.put(make_connection("alice", CIPHER), expected_version=None)

    assert says in raised.value.message
    assert f"write s3://{bucket}/{connection_key('alice')}" in raised.value.message
    assert raised.value.details == {"upstreamCode": code, "retryable": False}


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500)])
async def test_an_overloaded_s3_is_upstream_unavailable_with_retry_after(
    stubbed: tuple[S3Database, Stubber], code: str, status: int
) -> None:
    database, stub = stubbed
    stub.add_client_error("get_object", code, http_status_code=status)

    with pytest.raises(UpstreamUnavailableError) as raised:
        await database.connections.get("alice")

    assert raised.value.retry_after == 2
    assert raised.value.details["upstreamCode"] == code


async def test_an_unreachable_endpoint_at_run_time_is_upstream_unavailable(
    unreachable_endpoint: str, unchecked: S3Database
) -> None:
    with pytest.raises(UpstreamUnavailableError) as raised:
        await unchecked.connections.get("alice")

    assert raised.value.error_code is ErrorCode.UPSTREAM_UNAVAILABLE
    assert raised.value.message.startswith(f"S3 is unreachable at {unreachable_endpoint}")
    assert raised.value.details["upstreamCode"] == "EndpointConnectionError"


@pytest.mark.usefixtures("no_aws_credentials")
async def test_missing_credentials_at_run_time_are_an_internal_error_naming_the_chain(
    unchecked: S3Database,
) -> None:
    with pytest.raises(InternalError) as raised:
        await unchecked.api_keys.get("0123456789abcdef")

    assert "no AWS credentials for the S3 store (NoCredentialsError)" in raised.value.message
    assert "AWS_PROFILE" in raised.value.message


# --- damaged records: an error for their own user, never for the others ----------------------


@pytest.mark.parametrize(
    "body",
    [
        b"\x00not json",
        b'{"format": 1, "connection": {"user_id": "bob"',
        b'{"format": 1, "connection": {"user_id": "bob", "sub": 7}}',
        b'{"format": 2, "connection": {}}',
        b"[]",
    ],
    ids=["bytes", "truncated", "wrong-type", "unknown-format", "not-an-object"],
)
async def test_a_damaged_connection_is_an_error_for_its_user_alone(
    s3: Any,
    bucket: str,
    database: S3Database,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for user_id in ("alice", "bob", "carol"):
        await database.connections.put(make_connection(user_id, CIPHER), expected_version=None)
    s3.put_object(Bucket=bucket, Key=connection_key("bob"), Body=body)

    with pytest.raises(InternalError) as raised:
        await database.connections.get("bob")
    assert raised.value.message.startswith("the stored connection of user 'bob' cannot be read (")
    assert raised.value.message.endswith(
        f"restore or delete s3://{bucket}/{connection_key('bob')}; the user can then connect again"
    )
    assert await database.connections.get("alice") is not None
    with caplog.at_level(logging.ERROR):
        listed = [c.user_id async for c in database.connections.iterate(page_size=2)]
    assert listed == ["alice", "carol"]
    assert "the stored connection of user 'bob' cannot be read" in caplog.text


async def test_a_connection_copied_under_another_users_key_is_not_served_for_them(
    s3: Any, bucket: str, database: S3Database
) -> None:
    await database.connections.put(make_connection("alice", CIPHER), expected_version=None)
    s3.copy_object(
        Bucket=bucket,
        Key=connection_key("mallory"),
        CopySource={"Bucket": bucket, "Key": connection_key("alice")},
    )

    with pytest.raises(InternalError, match="holds the connection of another user"):
        await database.connections.get("mallory")


async def test_reencrypt_goes_past_a_damaged_connection_reports_it_and_the_user_can_start_again(
    s3: Any, bucket: str, database: S3Database
) -> None:
    old = Fernet.generate_key().decode()
    for user_id in ("alice", "bob", "carol"):
        sealed_by_old = make_connection(user_id, FernetCipher((old,)))
        await database.connections.put(sealed_by_old, expected_version=None)
    s3.put_object(Bucket=bucket, Key=connection_key("bob"), Body=b"{}")
    rotated = FernetCipher((Fernet.generate_key().decode(), old))

    report = await Reencryptor(database.connections, rotated).run()

    assert (report.scanned, report.rewritten, report.failed) == (2, 2, ("bob",))
    assert await database.connections.delete("bob") is True
    again = await database.connections.put(make_connection("bob", CIPHER), expected_version=None)
    assert again.version == 1


async def test_a_damaged_api_key_fails_its_own_lookups_and_is_left_out_of_listings(
    s3: Any, bucket: str, database: S3Database, caplog: pytest.LogCaptureFixture
) -> None:
    for key_id, name in (("k1", "first"), ("k2", "second")):
        await database.api_keys.create(make_api_key(key_id, name))
    key = f"{PREFIX}api-keys/{encode_name('k2')}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"format": 1}).encode())

    with pytest.raises(InternalError) as raised:
        await database.api_keys.get("k2")
    assert raised.value.message.startswith("the stored API key 'k2' cannot be read (")
    assert f"restore or delete s3://{bucket}/{key}" in raised.value.message
    with caplog.at_level(logging.ERROR):
        assert [k.id for k in await database.api_keys.list()] == ["k1"]
    assert "the stored API key 'k2' cannot be read" in caplog.text
    assert await database.api_keys.get("k1") is not None
