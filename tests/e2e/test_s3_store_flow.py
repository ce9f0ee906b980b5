"""The connection flow with CONNECTOR_DATABASE_URL=s3://…: the Hosted UI stand-in, two replicas
sharing the real Redis, moto's S3 over HTTP; then health and the command line on the same store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.envelopes import assert_envelope
from support.factories import make_connection
from support.moto_s3 import (
    REGION,
    admin_client,
    make_conditional_writes_atomic,
    new_bucket,
    point_boto3_at,
)
from support.oauth_world import CognitoWorld, make_world, world_settings
from support.servers import moto_server

from connector.adapters.crypto import FernetCipher
from connector.adapters.s3_store import S3Database
from connector.adapters.s3_store.layout import encode_name
from connector.bootstrap import build_container
from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet
from connector.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
PREFIX = "connector/"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def pool_keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """boto3 of this process pointed at moto through AWS_ENDPOINT_URL; the test's admin client."""
    point_boto3_at(monkeypatch, moto_endpoint)
    make_conditional_writes_atomic(monkeypatch)
    return admin_client()


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3)


@pytest.fixture
async def world(bucket: str, redis_prefix: str, pool_keys: KeySet) -> AsyncIterator[CognitoWorld]:
    settings = world_settings(
        f"s3://{bucket}/{PREFIX}",
        REDIS_URL,
        Fernet.generate_key().decode(),
        CONNECTOR_REDIS_PREFIX=redis_prefix,
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


def objects_in(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def alice_key() -> str:
    return f"{PREFIX}connections/{encode_name('alice')}.json"


async def test_connect_refresh_and_disconnect_keep_one_encrypted_object_in_the_bucket(
    s3: Any, bucket: str, world: CognitoWorld
) -> None:
    first, second = await world.instance(), await world.instance()
    key = await world.key(first)
    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}

    answer = await world.connect(first, key)

    assert answer.status_code == 302
    assert "status=connected" in answer.headers["location"]
    view = (await second.client.get("/connection", headers=headers)).json()["data"]
    assert (view["userId"], view["status"], view["email"]) == (
        "alice",
        "active",
        "alice@example.com",
    )
    head = s3.head_object(Bucket=bucket, Key=alice_key())
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("application/json", "AES256")

    world.clock.advance(3600)  # expired for every replica: they race to refresh
    answers = await asyncio.gather(
        *(replica.client.get("/token", headers=headers) for replica in (first, second) * 10)
    )
    assert [a.status_code for a in answers] == [200] * 20
    assert world.hosted_ui.stats.refresh_grants == 1
    stored = json.loads(objects_in(s3, bucket)[alice_key()])["connection"]
    assert stored["version"] == 2
    assert stored["last_refreshed_at"] is not None

    tokens = first.container.services.connections.open_tokens(
        await first.container.services.connections.get_from_store("alice")
    )
    everything_stored = b"".join(objects_in(s3, bucket).values())
    for secret in (tokens.access_token, tokens.id_token, tokens.refresh_token or "", key):
        assert secret
        assert secret.encode() not in everything_stored

    gone = await second.client.post("/disconnect", headers=headers)
    assert gone.json()["data"] == {"disconnected": True, "revoked": True}
    assert alice_key() not in objects_in(s3, bucket)
    assert_envelope(await first.client.get("/connection", headers=headers), ErrorCode.NOT_CONNECTED)


async def test_a_damaged_connection_fails_for_its_user_while_others_keep_working(
    s3: Any, bucket: str, world: CognitoWorld
) -> None:
    replica = await world.instance()
    key = await world.key(replica)
    await world.connect(replica, key)
    bob = f"{PREFIX}connections/{encode_name('bob')}.json"
    s3.put_object(Bucket=bucket, Key=bob, Body=b"{not json")

    broken = await replica.client.get(
        "/connection", headers={"Authorization": f"Bearer {key}", "X-User-Id": "bob"}
    )
    fine = await replica.client.get(
        "/connection", headers={"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    )

    assert_envelope(broken, ErrorCode.INTERNAL_ERROR)
    assert f"restore or delete s3://{bucket}/{bob}" in broken.json()["error"]
    assert fine.status_code == 200


async def test_health_follows_the_bucket(s3: Any, bucket: str) -> None:
    settings = Settings.from_env(
        {
            "CONNECTOR_DATABASE_URL": f"s3://{bucket}",
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )
    container = await build_container(settings)
    try:
        assert (await container.services.health.check()).status == "ok"
        s3.delete_bucket(Bucket=bucket)
        report = await container.services.health.check()
    finally:
        await container.close()
    assert (report.status, report.database) == ("down", "down")


def cli(moto_endpoint: str, url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        "CONNECTOR_DATABASE_URL": url,
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "connector", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_has_nothing_to_do_on_s3_but_checks_the_bucket(
    moto_endpoint: str, bucket: str
) -> None:
    done = cli(moto_endpoint, f"s3://{bucket}/{PREFIX}", "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing to migrate")

    missing = cli(moto_endpoint, "s3://connector-no-such-bucket/x/", "migrate")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "configuration error: CONNECTOR_DATABASE_URL: bucket 'connector-no-such-bucket' does"
        " not exist: create it or fix CONNECTOR_DATABASE_URL"
    ]


def test_keys_are_created_listed_and_revoked_in_the_bucket(
    s3: Any, moto_endpoint: str, bucket: str
) -> None:
    url = f"s3://{bucket}/{PREFIX}"
    created = cli(moto_endpoint, url, "keys", "create", "--name", "reports")
    assert created.returncode == 0, created.stderr
    raw_key = json.loads(created.stdout)["key"]
    assert cli(moto_endpoint, url, "keys", "create", "--name", "reports").returncode == 1

    revoked = cli(moto_endpoint, url, "keys", "revoke", "reports")

    assert revoked.returncode == 0, revoked.stderr
    listed = json.loads(cli(moto_endpoint, url, "keys", "list").stdout)
    assert [(k["name"], k["revokedAt"] is not None) for k in listed] == [("reports", True)]
    assert raw_key.encode() not in b"".join(objects_in(s3, bucket).values())


async def test_reencrypt_reports_a_damaged_record_and_rewrites_the_others(
    s3: Any, moto_endpoint: str, bucket: str
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"s3://{bucket}/{PREFIX}"
    database = await S3Database.open(url, region=REGION)
    try:
        for user_id in ("alice", "bob", "carol"):
            sealed = make_connection(user_id, FernetCipher((old,)))
            await database.connections.put(sealed, expected_version=None)
    finally:
        await database.close()
    bob = f"{PREFIX}connections/{encode_name('bob')}.json"
    s3.put_object(Bucket=bucket, Key=bob, Body=b"[]")

    run = cli(moto_endpoint, url, "reencrypt", CONNECTOR_ENCRYPTION_KEYS=f"{new},{old}")

    assert run.returncode == 1, run.stderr  # something is left to fix
    report = json.loads(run.stdout)
    assert (report["scanned"], report["rewritten"], report["failed"]) == (2, 2, ["bob"])
    assert "the stored connection of user 'bob' cannot be read" in run.stderr
    assert f"restore or delete s3://{bucket}/{bob}" in run.stderr
