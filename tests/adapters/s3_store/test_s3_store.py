"""The s3:// store on moto: what lands in the bucket, conditional writes between replicas, the
fallback for endpoints without them, and API keys beside the connections."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from botocore.stub import Stubber
from cryptography.fernet import Fernet
from support.factories import make_api_key, make_connection
from support.moto_s3 import REGION, ignore_conditional_writes

from connector.adapters.aws_clients import AwsClients
from connector.adapters.crypto import FernetCipher
from connector.adapters.redis_cache import create_cache
from connector.adapters.s3_store import S3Database
from connector.adapters.s3_store.layout import encode_name
from connector.domain.models import Connection
from connector.domain.oauth import IdentityClaims, TokenGrant
from connector.errors import (
    ConfigurationError,
    InternalError,
    ValidationError,
    VersionConflictError,
)
from connector.services.clock import SystemClock
from connector.services.connections import ConnectionService
from connector.services.tolerant_cache import TolerantCache

PREFIX = "team/connector/"
KMS_KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


class Replicas:
    """Stores on one bucket, each with its own AWS plumbing, as separate processes would be."""

    def __init__(self, bucket: str, stack: AsyncExitStack) -> None:
        self.bucket = bucket
        self.stack = stack

    async def open(self, clients: AwsClients | None = None, **options: Any) -> S3Database:
        clients = clients or AwsClients(region=REGION)
        database = await S3Database.open(
            f"s3://{self.bucket}/{PREFIX}", region=REGION, clients=clients, **options
        )
        self.stack.push_async_callback(database.close)
        return database


@pytest.fixture
def replicas(bucket: str, stack: AsyncExitStack) -> Replicas:
    return Replicas(bucket, stack)


class RaceGate:
    """Holds the first `parties` PutObjects of the attached clients until all of them are in
    flight, so conflicting writes reach S3 together (a barrier, no sleeps); later ones pass."""

    def __init__(self, parties: int = 2) -> None:
        self._parties = parties
        self._barrier = threading.Barrier(parties, timeout=10)
        self._arrived = 0
        self._lock = threading.Lock()

    def attach(self, clients: AwsClients) -> None:
        clients.service_client("s3").meta.events.register("before-call.s3.PutObject", self._wait)

    def _wait(self, **_: Any) -> None:
        with self._lock:
            self._arrived += 1
            racing = self._arrived <= self._parties
        if racing:
            self._barrier.wait()


def stored_object(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head = s3.head_object(Bucket=bucket, Key=key)
    body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return head, body


def connection_key(user_id: str) -> str:
    return f"{PREFIX}connections/{encode_name(user_id)}.json"


async def test_a_connection_is_one_json_object_with_sealed_tokens_and_sse_s3(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    database = await replicas.open()
    await database.connections.put(make_connection("alice", cipher), expected_version=None)

    head, body = stored_object(s3, bucket, connection_key("alice"))

    assert head["ContentType"] == "application/json"
    assert head["ServerSideEncryption"] == "AES256"
    assert set(body) == {"format", "connection"}
    assert body["format"] == 1
    stored = body["connection"]
    assert (stored["user_id"], stored["version"]) == ("alice", 1)
    raw = json.dumps(body)
    assert "access-token-of-alice" not in raw
    assert "refresh-token-of-alice" not in raw
    # The store keeps what the Cipher sealed, byte for byte, as the SQL columns do.
    assert cipher.open(stored["tokens"]["access_token"]) == "access-token-of-alice"
    assert cipher.open(stored["tokens"]["refresh_token"]) == "refresh-token-of-alice"


async def test_sse_kms_sends_the_configured_key_for_connections_and_api_keys(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    database = await replicas.open(kms_key_id=KMS_KEY_ID)
    await database.connections.put(make_connection("alice", cipher), expected_version=None)
    await database.api_keys.create(make_api_key("k1", "deploy"))

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 4  # the connection, its sub index entry, the key, the key's name claim
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == KMS_KEY_ID
        assert head["BucketKeyEnabled"] is True


async def test_creates_send_if_none_match_and_replaces_if_match_with_the_etag_read(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    clients = AwsClients(region=REGION)
    database = await replicas.open(clients)
    sent: list[dict[str, Any]] = []
    clients.service_client("s3").meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: sent.append(dict(params))
    )
    cipher = FernetCipher((Fernet.generate_key().decode(),))

    await database.connections.put(make_connection("alice", cipher), expected_version=None)
    etag_read = s3.head_object(Bucket=bucket, Key=connection_key("alice"))["ETag"]
    await database.connections.put(make_connection("alice", cipher), expected_version=1)

    documents = [p for p in sent if p["Key"] == connection_key("alice")]
    assert [p.get("IfNoneMatch") for p in documents] == ["*", None]
    assert [p.get("IfMatch") for p in documents] == [None, etag_read]
    # The sub index entry, created if absent after each write of the document.
    assert [p.get("IfNoneMatch") for p in sent if p not in documents] == ["*", "*"]


@pytest.mark.parametrize(
    ("code", "status"), [("PreconditionFailed", 412), ("ConditionalRequestConflict", 409)]
)
async def test_a_refused_conditional_write_is_a_version_conflict(
    replicas: Replicas, code: str, status: int
) -> None:
    clients = AwsClients(region=REGION)
    database = await replicas.open(clients)
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    with Stubber(clients.service_client("s3")) as stub:
        stub.add_client_error("put_object", code, http_status_code=status)
        with pytest.raises(VersionConflictError, match="already has a connection"):
            await database.connections.put(make_connection("alice", cipher), expected_version=None)
        stub.assert_no_pending_responses()


async def test_of_two_replicas_writing_at_once_one_wins_and_the_other_retries_on_top(
    replicas: Replicas,
) -> None:
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    gate = RaceGate()
    first_clients, second_clients = AwsClients(region=REGION), AwsClients(region=REGION)
    first, second = await replicas.open(first_clients), await replicas.open(second_clients)
    await first.connections.put(make_connection("alice", cipher), expected_version=None)
    gate.attach(first_clients)
    gate.attach(second_clients)
    seen_first = await first.connections.get("alice")
    seen_second = await second.connections.get("alice")
    assert seen_first is not None
    assert seen_second is not None

    results = await asyncio.gather(
        first.connections.put(
            msgspec.structs.replace(seen_first, sub="first-writer"), expected_version=1
        ),
        second.connections.put(
            msgspec.structs.replace(seen_second, identity_id="us-east-1:second-writer"),
            expected_version=1,
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, Connection)]
    assert len(winners) == 1
    assert winners[0].version == 2
    loser = first if isinstance(results[0], VersionConflictError) else second
    assert sum(isinstance(r, VersionConflictError) for r in results) == 1
    # The loser does what every writer of the port does: read again, apply, write again.
    fresh = await loser.connections.get("alice")
    assert fresh == winners[0]
    change = (
        {"sub": "first-writer"} if loser is first else {"identity_id": "us-east-1:second-writer"}
    )
    retried = await loser.connections.put(
        msgspec.structs.replace(fresh, **change), expected_version=2
    )
    final = await second.connections.get("alice")
    assert final == retried
    assert (final.version, final.sub, final.identity_id) == (
        3,
        "first-writer",
        "us-east-1:second-writer",
    )


async def test_two_replicas_connecting_one_user_at_once_both_succeed_through_retries(
    replicas: Replicas,
) -> None:
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    gate = RaceGate()
    services = []
    for _ in range(2):
        clients = AwsClients(region=REGION)
        database = await replicas.open(clients)
        gate.attach(clients)
        cache = create_cache("memory://")
        replicas.stack.push_async_callback(cache.close)
        services.append(
            ConnectionService(database.connections, TolerantCache(cache), cipher, SystemClock())
        )
    claims = IdentityClaims(
        sub="cognito-sub", username="alice", email=None, expires_at=datetime.now(UTC)
    )

    async def connect(service: ConnectionService, token: str) -> Connection:
        grant = TokenGrant(access_token=token, id_token="id", refresh_token="r", expires_in=3600)
        connected = await service.connect(
            "alice", service.seal(grant), claims, ("openid",), lifetime=grant.expires_in
        )
        return connected.connection

    done = await asyncio.gather(connect(services[0], "a-0"), connect(services[1], "a-1"))

    assert sorted(c.version for c in done) == [1, 2]
    stored = await services[0].get_from_store("alice")
    assert stored.version == 2
    assert stored.created_at == min(c.created_at for c in done)


async def test_start_up_refuses_an_endpoint_that_ignores_conditional_writes(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    clients = AwsClients(region=REGION)
    ignore_conditional_writes(clients.service_client("s3"))

    with pytest.raises(ConfigurationError) as raised:
        await replicas.open(clients)

    assert raised.value.variable == "CONNECTOR_DATABASE_CONDITIONAL_WRITES"
    assert "ignored If-None-Match" in raised.value.problem
    assert "=false" in raised.value.problem
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)  # the probe is gone


async def test_start_up_leaves_nothing_in_the_bucket(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    await replicas.open()
    await replicas.open(conditional_writes=False)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


async def test_the_fallback_runs_on_such_an_endpoint_and_checks_versions_in_one_process(
    replicas: Replicas,
) -> None:
    clients = AwsClients(region=REGION)
    ignore_conditional_writes(clients.service_client("s3"))
    database = await replicas.open(clients, conditional_writes=False)
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    await database.connections.put(make_connection("alice", cipher), expected_version=None)
    with pytest.raises(VersionConflictError):
        await database.connections.put(make_connection("alice", cipher), expected_version=None)

    attempts = [make_connection("alice", cipher, sub=f"w-{i}") for i in range(8)]
    results = await asyncio.gather(
        *(database.connections.put(c, expected_version=1) for c in attempts),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Connection) for r in results) == 1
    assert sum(isinstance(r, VersionConflictError) for r in results) == 7


async def test_the_fallback_can_lose_an_update_between_replicas_as_documented(
    replicas: Replicas,
) -> None:
    """The race docs/decisions.md owns up to: both replicas HEAD, then both PUT."""
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    gate = RaceGate()
    plumbing = [AwsClients(region=REGION) for _ in range(2)]
    opened = [await replicas.open(c, conditional_writes=False) for c in plumbing]
    await opened[0].connections.put(make_connection("alice", cipher), expected_version=None)
    for clients in plumbing:
        gate.attach(clients)

    results = await asyncio.gather(
        *(
            database.connections.put(
                make_connection("alice", cipher, sub=f"writer-{i}"), expected_version=1
            )
            for i, database in enumerate(opened)
        )
    )

    assert [r.version for r in results] == [2, 2]  # both believe they won: one update is lost
    stored = await opened[0].connections.get("alice")
    assert stored is not None
    assert stored.sub in {"writer-0", "writer-1"}


async def test_api_keys_live_beside_connections_under_their_own_prefix(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    database = await replicas.open()
    await database.api_keys.create(make_api_key("0123456789abcdef", "ci deploy"))

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])

    assert keys == [
        f"{PREFIX}api-key-names/{encode_name('ci deploy')}.json",
        f"{PREFIX}api-keys/{encode_name('0123456789abcdef')}.json",
    ]
    claim = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert claim == {"format": 1, "id": "0123456789abcdef"}


async def test_a_name_claim_left_by_an_interrupted_create_is_taken_over(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    database = await replicas.open()
    # What a process killed between its two writes leaves: a claim naming no key.
    s3.put_object(
        Bucket=bucket,
        Key=f"{PREFIX}api-key-names/{encode_name('deploy')}.json",
        Body=b'{"format":1,"id":"gone"}',
    )

    await database.api_keys.create(make_api_key("k2", "deploy"))

    revoked = await database.api_keys.revoke("deploy", datetime.now(UTC))
    assert revoked is not None
    assert revoked.id == "k2"


async def test_of_concurrent_creates_with_one_name_one_key_remains(replicas: Replicas) -> None:
    first, second = await replicas.open(), await replicas.open()

    results = await asyncio.gather(
        first.api_keys.create(make_api_key("k1", "deploy")),
        second.api_keys.create(make_api_key("k2", "deploy")),
        return_exceptions=True,
    )

    assert sum(isinstance(r, ValidationError) for r in results) == 1
    listed = await first.api_keys.list()
    assert len(listed) == 1
    assert listed[0].name == "deploy"


async def test_a_document_written_before_providers_reads_as_the_default_providers(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    """The previous layout's object (no provider in it) is the default provider's connection,
    where it is; another provider's connection of the same user lies beside it."""
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    database = await replicas.open()
    previous = make_connection("alice", cipher)
    document = json.loads(msgspec.json.encode({"format": 1, "connection": previous}))
    del document["connection"]["provider"]
    document["connection"]["version"] = 4
    s3.put_object(Bucket=bucket, Key=connection_key("alice"), Body=json.dumps(document).encode())

    read = await database.connections.get("alice")
    assert read is not None
    assert (read.provider, read.version, read.sub) == ("default", 4, previous.sub)

    other = msgspec.structs.replace(previous, provider="acme", sub="sub-acme")
    await database.connections.put(other, expected_version=None)
    _, body = stored_object(s3, bucket, f"{PREFIX}connections/{encode_name('alice')}-acme.json")
    assert (body["connection"]["provider"], body["connection"]["sub"]) == ("acme", "sub-acme")
    updated = await database.connections.put(
        msgspec.structs.replace(read, identity_id="us-east-1:new"), expected_version=4
    )
    assert updated.version == 5
    walked = [(c.provider, c.version) async for c in database.connections.iterate()]
    assert walked == [("acme", 1), ("default", 5)]


async def test_a_document_under_another_providers_name_is_refused(
    s3: Any, bucket: str, replicas: Replicas
) -> None:
    """A default-provider document copied to another provider's key must not act for it."""
    cipher = FernetCipher((Fernet.generate_key().decode(),))
    database = await replicas.open()
    await database.connections.put(make_connection("alice", cipher), expected_version=None)
    copied = s3.get_object(Bucket=bucket, Key=connection_key("alice"))["Body"].read()
    s3.put_object(
        Bucket=bucket, Key=f"{PREFIX}connections/{encode_name('alice')}-acme.json", Body=copied
    )
    with pytest.raises(InternalError, match="another provider"):
        await database.connections.get("alice", "acme")
