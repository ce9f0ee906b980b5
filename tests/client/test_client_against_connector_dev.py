"""The Python client end to end against a live `connector dev` process: the demo user signs in
through the Hosted UI stand-in, then every client operation runs against moto through the
connector, and plain boto3 runs as the user with credentials from /credentials."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from connector_client import (
    AsyncConnectorClient,
    ConnectionRequiredError,
    ConnectorClient,
    ErrorCode,
    NotFoundError,
    requires_connection,
)
from connector_client.boto import refreshable_credentials, session_with
from connector_client.models import AwsCredentials
from support.dev_stack import DevStack, running_dev_stack, sign_in

BUCKET = "demo-bucket"
MB = 1 << 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with running_dev_stack(tmp_path_factory.mktemp("client-e2e")) as running:
        with ConnectorClient(running.url, running.api_key) as client:
            sign_in(running, client)
        yield running


@pytest.fixture
def client(stack: DevStack) -> Iterator[ConnectorClient]:
    with ConnectorClient(stack.url, stack.api_key) as connector:
        yield connector


@pytest.fixture
def user(stack: DevStack) -> str:
    return stack.user_id


@pytest.fixture
def boto3_at_the_emulator(stack: DevStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's boto3 at the dev stack's moto, as `connector dev` prints it."""
    for name in [n for n in os.environ if n.startswith(("AWS_PROFILE", "AWS_ENDPOINT_URL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.facts["awsEndpointUrl"])


def test_the_demo_user_is_connected_and_a_stranger_is_sent_to_sign_in(
    stack: DevStack, client: ConnectorClient, user: str
) -> None:
    assert client.health().status == "ok"
    connection = client.get_connection(user)
    assert (connection.status, connection.username, connection.email) == (
        "active",
        "demo",
        "demo@example.com",
    )

    @requires_connection(client, redirect_uri=stack.facts["demoReturnUrl"])
    def greet(user_id: str) -> str:
        return f"hello {user_id}"

    assert greet(user) == "hello demo-user"
    with pytest.raises(ConnectionRequiredError) as raised:
        greet("stranger")
    assert raised.value.code == ErrorCode.NOT_CONNECTED
    assert raised.value.connect_url.startswith(f"{stack.facts['hostedUiUrl']}/oauth2/authorize?")


def test_json_and_text_round_trip_and_are_deleted(client: ConnectorClient, user: str) -> None:
    s3 = client.s3(user)
    assert [bucket.name for bucket in s3.list_buckets()] == [BUCKET]
    s3.write_json(BUCKET, "e2e/settings.json", {"theme": "dark", "sizes": [1, 2]})
    s3.write_text(BUCKET, "e2e/notes/ünïcode name.txt", "naïve café\n")
    assert s3.read_json(BUCKET, "e2e/settings.json") == {"theme": "dark", "sizes": [1, 2]}
    assert s3.read_text(BUCKET, "e2e/notes/ünïcode name.txt") == "naïve café\n"
    assert s3.file_exists(BUCKET, "e2e/settings.json")
    assert not s3.file_exists(BUCKET, "e2e/settings")
    assert s3.delete_object(BUCKET, "e2e/settings.json").deleted
    assert not s3.file_exists(BUCKET, "e2e/settings.json")
    with pytest.raises(NotFoundError):
        s3.read_json(BUCKET, "e2e/settings.json")


def test_megabytes_go_up_and_come_back_byte_for_byte(
    client: ConnectorClient, user: str, tmp_path: Path
) -> None:
    # Over the connector's 8 MiB threshold: the upload becomes a multipart upload.
    original = tmp_path / "original.bin"
    original.write_bytes(os.urandom(9 * MB + 12345))
    stored = client.s3(user).upload_file(original, BUCKET, "e2e/big.bin")
    assert stored.etag is not None
    assert stored.etag.endswith('-2"')
    copy = client.s3(user).download_file(BUCKET, "e2e/big.bin", tmp_path / "copy.bin")
    assert (
        hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
    )
    with client.open_object(user, BUCKET, "e2e/big.bin", byte_range="bytes=5-14") as part:
        assert (part.meta.status, part.read()) == (206, original.read_bytes()[5:15])


def test_listing_walks_every_page(client: ConnectorClient, user: str) -> None:
    s3 = client.s3(user)
    keys = [f"e2e/pages/{n:02}.txt" for n in range(7)]
    for key in keys:
        s3.write_text(BUCKET, key, key)
    first = client.list_objects(user, BUCKET, prefix="e2e/pages/", max_keys=3)
    assert (len(first.objects), first.is_truncated) == (3, True)
    assert first.next_continuation_token
    assert [o.key for o in s3.list_objects(BUCKET, prefix="e2e/pages/", page_size=3)] == keys
    folders = client.list_objects(user, BUCKET, prefix="reports/", delimiter="/")
    assert folders.common_prefixes == ["reports/2026/"]


def test_presigned_urls_work_with_a_plain_http_client(client: ConnectorClient, user: str) -> None:
    upload = client.presign(user, BUCKET, "e2e/presigned.txt", method="PUT", expires_in=60)
    assert upload.expires_at <= datetime.now(UTC) + timedelta(seconds=61)
    assert httpx.put(upload.url, content=b"sent without the connector").status_code == 200
    download = client.presign(user, BUCKET, "e2e/presigned.txt")
    assert httpx.get(download.url).content == b"sent without the connector"
    assert client.s3(user).read_text(BUCKET, "e2e/presigned.txt") == "sent without the connector"


def test_lambda_functions_are_listed_described_and_invoked(
    client: ConnectorClient, user: str
) -> None:
    assert [f.name for f in client.iter_functions(user)] == ["demo-echo"]
    detail = client.get_function(user, "demo-echo")
    assert (detail.runtime, detail.handler, detail.state) == (
        "python3.12",
        "echo.handler",
        "Active",
    )
    result = client.invoke(user, "demo-echo", {"ping": [1, "two", None]})
    assert (result.status_code, result.payload, result.function_error) == (
        200,
        {"ping": [1, "two", None]},
        None,
    )


async def test_the_async_client_does_the_same(stack: DevStack, user: str, tmp_path: Path) -> None:
    async with AsyncConnectorClient(stack.url, stack.api_key) as client:
        assert (await client.get_connection(user)).status == "active"
        s3 = client.s3(user)
        await s3.write_json(BUCKET, "e2e/async.json", {"async": True})
        assert await s3.read_json(BUCKET, "e2e/async.json") == {"async": True}
        listed = [o.key async for o in s3.list_objects(BUCKET, prefix="e2e/async", page_size=1)]
        assert listed == ["e2e/async.json"]
        source = tmp_path / "async.bin"
        source.write_bytes(os.urandom(3 * MB))
        await s3.upload_file(source, BUCKET, "e2e/async.bin")
        copy = await s3.download_file(BUCKET, "e2e/async.bin", tmp_path / "async-copy.bin")
        assert copy.read_bytes() == source.read_bytes()
        assert (await client.invoke(user, "demo-echo", "hi")).payload == "hi"
        assert (await s3.delete_object(BUCKET, "e2e/async.bin")).deleted


@pytest.mark.usefixtures("boto3_at_the_emulator")
def test_plain_boto3_lists_the_users_buckets(client: ConnectorClient, user: str) -> None:
    session = client.boto3_session(user)
    assert session.region_name == "us-east-1"  # the identity pool's region
    s3 = session.client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    hello = s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read()
    assert hello == b"Hello from the connector sandbox!\n"


@pytest.mark.usefixtures("boto3_at_the_emulator")
def test_a_boto3_session_survives_the_expiry_of_its_credentials(
    client: ConnectorClient, user: str
) -> None:
    # The connector's clock cannot be moved from here and moto's credentials live 90 s, so the
    # session starts with the connector's credentials marked as expired a second ago: its first
    # AWS call must fetch fresh ones from /credentials, then keep them.
    fetched: list[AwsCredentials] = []

    def fetch() -> AwsCredentials:
        fetched.append(client.get_credentials(user))
        return fetched[-1]

    served = client.get_credentials(user)
    expired = msgspec.structs.replace(served, expiration=datetime.now(UTC) - timedelta(seconds=1))
    session = session_with(refreshable_credentials(expired, fetch), "us-east-1")
    s3 = session.client("s3")
    for _ in range(5):
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert len(fetched) == 1
    in_use = session.get_credentials().get_frozen_credentials()
    assert in_use.access_key == fetched[0].access_key_id
    assert fetched[0].expiration > datetime.now(UTC)
