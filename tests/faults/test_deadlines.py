"""Every upstream call answers within its deadline, retries included: an endpoint that accepts
connections and never answers (a black hole on 127.0.0.1) costs the configured deadline, not
botocore's attempts times its read timeout. The deadline is set to 1 s here, so each test is
fast; elapsed times are checked against it (these are behaviour tests, not benchmarks)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import httpx
import pytest
from support.factories import make_aws_credentials
from support.fake_world import make_fake_oauth_world
from support.fakes import FakeCache, FakeTokenVerifier
from support.servers import BlackHole, Pacing, black_hole, moto_server, paced_http_server

from connector.adapters.aws_clients import AwsClients
from connector.adapters.cognito_identity import CognitoIdentityBroker
from connector.adapters.cognito_jwt import CognitoTokenVerifier
from connector.adapters.cognito_oauth import CognitoOAuthClient
from connector.adapters.lambda_gateway import LambdaGateway
from connector.adapters.s3_gateway import S3Gateway
from connector.errors import ErrorCode, UpstreamUnavailableError
from connector.services.single_flight import DistributedLock
from connector.services.tokens import TokenService, refresh_lock_name
from connector.settings import CognitoSettings, FreshnessSettings

DEADLINE = 1.0
MARGIN = 0.75  # scheduling slack on a shared 2-core machine
REGION = "us-east-1"
CREDS = make_aws_credentials()
IDENTITY_ID = "us-east-1:00000000-0000-0000-0000-000000000001"


def cognito_settings(url: str, *, role_arn: str | None = None) -> CognitoSettings:
    """Every Cognito endpoint (Hosted UI, issuer and its JWKS) at `url`."""
    return CognitoSettings(
        base_url=url,
        client_id="connector-client",
        client_secret="client-secret",
        region=REGION,
        user_pool_id="us-east-1_Pool",
        identity_pool_id="us-east-1:11111111-2222-3333-4444-555555555555",
        issuer=f"{url}/us-east-1_Pool",
        role_arn=role_arn,
    )


@pytest.fixture
def hole(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHole]:
    """A black hole that every boto3 call is sent to (botocore's standard 3 attempts)."""
    with black_hole() as started:
        _send_aws_to(monkeypatch, started.url)
        yield started


def _send_aws_to(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)


def _clients(**options: Any) -> AwsClients:
    """AwsClients with the test deadline and its clients already built: a first build loads
    botocore's models, CPU time that on a loaded 2-core machine can eat much of a 1 s deadline
    (it counts in the deadline; these tests are about the silence of the endpoint)."""
    made = AwsClients(region=REGION, deadline=DEADLINE, **options)
    for service in ("s3", "lambda"):
        made.client(service, CREDS)
    for service in ("cognito-identity", "sts"):
        made.client(service, None)
    return made


@pytest.fixture
def clients(hole: BlackHole) -> Iterator[AwsClients]:
    made = _clients()
    yield made
    made.close()  # waits for the abandoned attempts: bounded, or this would hang


async def _within_deadline(call: Awaitable[object]) -> UpstreamUnavailableError:
    """The call fails with UPSTREAM_UNAVAILABLE after waiting its deadline, and no longer."""
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailableError) as raised:
        await call
    elapsed = time.monotonic() - started
    assert elapsed >= 0.9 * DEADLINE, f"failed after {elapsed:.2f} s: not for the deadline"
    assert elapsed < DEADLINE + MARGIN, f"held {elapsed:.2f} s"
    assert raised.value.error_code is ErrorCode.UPSTREAM_UNAVAILABLE
    assert raised.value.details["retryAfter"] >= 1
    return raised.value


async def _one_chunk() -> AsyncIterator[bytes]:
    yield b"x" * 1024


AwsCall = Callable[[AwsClients], Awaitable[object]]
DATA_PLANE: dict[str, tuple[AwsCall, str]] = {
    "S3 ListBuckets": (lambda c: S3Gateway(c).list_buckets(CREDS), "LIST_BUCKETS"),
    "S3 ListObjectsV2": (lambda c: S3Gateway(c).list_objects(CREDS, "bucket"), "LIST_OBJECTS"),
    "S3 GetObject": (lambda c: S3Gateway(c).open_object(CREDS, "bucket", "key"), "GET_OBJECT"),
    "S3 PutObject": (
        lambda c: S3Gateway(c).put_object(
            CREDS, "bucket", "key", _one_chunk(), content_type=None, content_length=1024
        ),
        "PUT_OBJECT",
    ),
    "S3 DeleteObject": (
        lambda c: S3Gateway(c).delete_object(CREDS, "bucket", "key"),
        "DELETE_OBJECT",
    ),
    "Lambda ListFunctions": (lambda c: LambdaGateway(c).list_functions(CREDS), "LIST_FUNCTIONS"),
    "Lambda GetFunction": (lambda c: LambdaGateway(c).get_function(CREDS, "fn"), "GET_FUNCTION"),
    "Lambda Invoke": (lambda c: LambdaGateway(c).invoke(CREDS, "fn", b"{}"), "INVOKE_LAMBDA"),
}


@pytest.mark.parametrize("name", list(DATA_PLANE))
async def test_a_black_holed_aws_data_plane_call_answers_within_its_deadline(
    clients: AwsClients, hole: BlackHole, name: str
) -> None:
    call, operation = DATA_PLANE[name]

    failure = await _within_deadline(call(clients))

    assert failure.details["operation"] == operation
    assert failure.details["upstreamCode"] in {"DeadlineExceededError", "ReadTimeoutError"}
    assert hole.accepted >= 1  # it was the silence, not a refused connection


async def test_a_black_holed_call_frees_its_worker_and_starts_no_attempt_past_the_deadline(
    hole: BlackHole,
) -> None:
    one_slot = _clients(max_pool_connections=1)
    try:
        await _within_deadline(S3Gateway(one_slot).list_buckets(CREDS))
        started = time.monotonic()
        assert await one_slot.stream(lambda: "the slot is free") == "the slot is free"
        # At most the end of the first attempt's read plus one retry backoff (<= 1 s): the
        # retry itself is refused before it is sent.
        assert time.monotonic() - started < 1.0 + MARGIN
        assert hole.accepted == 1
    finally:
        one_slot.close()


def _cognito_identity_calls(
    settings: Callable[..., CognitoSettings],
) -> dict[str, Callable[[AwsClients], Awaitable[object]]]:
    def broker(clients: AwsClients, role_arn: str | None = None) -> CognitoIdentityBroker:
        return CognitoIdentityBroker(settings("http://cognito.test", role_arn=role_arn), clients)

    role = "arn:aws:iam::123456789012:role/connector-users"
    return {
        "GetId": lambda c: broker(c).get_identity_id("id-token"),
        "GetCredentialsForIdentity": lambda c: broker(c).get_credentials(
            IDENTITY_ID, "id-token", user_id="alice"
        ),
        "GetOpenIdToken (basic flow)": lambda c: broker(c, role).get_credentials(
            IDENTITY_ID, "id-token", user_id="alice"
        ),
    }


COGNITO_IDENTITY = _cognito_identity_calls(cognito_settings)


@pytest.mark.parametrize("name", list(COGNITO_IDENTITY))
async def test_a_black_holed_cognito_identity_call_answers_within_its_deadline(
    clients: AwsClients, name: str
) -> None:
    failure = await _within_deadline(COGNITO_IDENTITY[name](clients))

    assert failure.details["operation"] == "GET_CONNECTION"


async def test_a_black_holed_sts_call_answers_within_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The basic flow: moto answers GetId and GetOpenIdToken; STS is the black hole."""
    with moto_server() as moto_url, black_hole() as sts:
        _send_aws_to(monkeypatch, moto_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        settings = cognito_settings("http://cognito.test")
        admin = boto3.client(
            "cognito-identity", region_name=REGION, aws_access_key_id="admin",
            aws_secret_access_key="admin",
        )  # fmt: skip
        pool_id = admin.create_identity_pool(
            IdentityPoolName="deadlines",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {"ProviderName": settings.logins_key, "ClientId": settings.client_id}
            ],
        )["IdentityPoolId"]
        settings = replace(settings, identity_pool_id=pool_id)
        clients = _clients()
        role = "arn:aws:iam::123456789012:role/connector-users"
        broker = CognitoIdentityBroker(settings, clients, role_arn=role)
        try:
            identity_id = await broker.get_identity_id("id-token")
            await _within_deadline(broker.get_credentials(identity_id, "id-token", user_id="alice"))
        finally:
            clients.close()
        assert sts.accepted >= 1


def _oauth_client(url: str) -> CognitoOAuthClient:
    return CognitoOAuthClient(
        cognito_settings(url), redirect_uri="http://127.0.0.1/callback", timeout=DEADLINE
    )


OAuthCall = Callable[[CognitoOAuthClient], Awaitable[object]]
TOKEN_ENDPOINT: dict[str, OAuthCall] = {
    "authorization code": lambda c: c.exchange_code("code", code_verifier="v" * 43),
    "refresh": lambda c: c.refresh("refresh-token"),
    "revoke": lambda c: c.revoke("refresh-token"),
}


@pytest.mark.parametrize("name", list(TOKEN_ENDPOINT))
async def test_a_black_holed_token_endpoint_answers_within_its_deadline(
    hole: BlackHole, name: str
) -> None:
    client = _oauth_client(hole.url)
    try:
        await _within_deadline(TOKEN_ENDPOINT[name](client))
    finally:
        await client.close()
    assert hole.accepted >= 1


def _unverifiable_token() -> str:
    """A well-formed RS256 token whose key must be fetched (its signature never checked)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part({'sub': 'alice'})}.c2ln"


@pytest.mark.parametrize("http_timeout", [None, 30.0], ids=["own client", "patient client"])
async def test_a_black_holed_jwks_fetch_answers_within_its_deadline(
    hole: BlackHole, http_timeout: float | None
) -> None:
    """Whatever the HTTP client's own (per phase) timeouts, the fetch has the deadline."""
    http = None if http_timeout is None else httpx.AsyncClient(timeout=http_timeout)
    verifier = CognitoTokenVerifier(cognito_settings(hole.url), http=http, timeout=DEADLINE)
    try:
        failure = await _within_deadline(
            verifier.verify_id_token(_unverifiable_token(), nonce=None)
        )
    finally:
        if http is not None:
            await http.aclose()
    assert "JWKS" in failure.message
    assert hole.accepted >= 1


MB = 1 << 20


async def _read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_a_slow_but_moving_download_is_not_cut_by_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = bytes(range(256)) * 192  # 48 KiB, 4 KiB every 0.25 s: 3 s in all
    pacing = Pacing(body=body, piece=4096, pause=0.25)
    with paced_http_server(pacing, {"Content-Type": "application/octet-stream"}) as server:
        _send_aws_to(monkeypatch, server.url)
        clients = _clients()
        try:
            started = time.monotonic()
            opened = await S3Gateway(clients, chunk_size=MB).open_object(CREDS, "bucket", "key")
            received = await _read_all(opened.chunks)
            elapsed = time.monotonic() - started
        finally:
            clients.close()

    assert received == body
    assert elapsed > 2.5 * DEADLINE  # longer than the deadline, and never cut


async def test_a_download_that_goes_silent_fails_one_idle_timeout_after_the_last_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = b"z" * (64 << 10)
    pacing = Pacing(body=body, piece=4096, pause=0.01, stall_after=16 << 10)
    with paced_http_server(pacing, {"Content-Type": "application/octet-stream"}) as server:
        _send_aws_to(monkeypatch, server.url)
        clients = _clients()
        try:
            opened = await S3Gateway(clients, chunk_size=MB).open_object(CREDS, "bucket", "key")
            failure = await _within_deadline(_read_all(opened.chunks))
        finally:
            clients.close()

    assert failure.details["operation"] == "GET_OBJECT"
    assert failure.details["upstreamCode"] == "ReadTimeoutError"


async def test_a_lock_wait_ends_within_the_budget_of_the_call_it_waits_for() -> None:
    cache = FakeCache()
    await cache.add("lock:refresh:alice", b"another replica", ttl=15)
    lock = DistributedLock(cache, wait_timeout=DEADLINE, poll=0.01)

    failure = await _within_deadline(lock.wait("lock:refresh:alice"))

    assert failure.retry_after == 1


async def test_a_token_refresh_waiting_on_a_stuck_replica_answers_within_the_budget() -> None:
    world = make_fake_oauth_world()
    tokens = TokenService(
        connections=world.connections,
        provider=world.provider,
        verifier=FakeTokenVerifier(world.clock),
        lock=DistributedLock(world.cache, wait_timeout=DEADLINE, poll=0.01),
        clock=world.clock,
        windows=FreshnessSettings(),
    )
    await world.connect()
    world.clock.advance(3600 - 300)  # 5 minutes left: the mandatory window
    await world.cache.add(refresh_lock_name("alice"), b"a replica that hangs", ttl=15)

    await _within_deadline(tokens.get_tokens("alice"))

    assert world.provider.refresh_calls == 0  # nobody refreshed behind the holder's back
