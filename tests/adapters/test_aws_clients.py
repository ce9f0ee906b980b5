"""AwsClients (one session, clients cached per credentials, a sized pool) and the error table."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from connector.adapters.aws_clients import AwsClients, configured_region
from connector.adapters.aws_errors import map_aws_error, translated
from connector.domain.aws import AwsCredentials
from connector.errors import (
    AccessDeniedError,
    ConnectorError,
    ErrorCode,
    ExpiredCredentialsError,
    NotFoundError,
    OperationFailedError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def creds(access_key: str = "ASIAEXAMPLE1", token: str = "token-1") -> AwsCredentials:  # noqa: S107
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return AwsCredentials(
        access_key_id=access_key,
        secret_access_key=SECRET,
        session_token=token,
        expiration=now + timedelta(hours=1),
        identity_id="us-east-1:abc",
        issued_at=now,
    )


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    for name in ("AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    made = AwsClients(region="eu-west-1", max_pool_connections=4, max_cached_clients=3)
    yield made
    made.close()


def test_the_same_credentials_reuse_one_client_and_others_get_their_own(
    clients: AwsClients,
) -> None:
    first = clients.client("s3", creds())
    assert clients.client("s3", creds()) is first
    assert clients.client("s3", creds(token="token-2")) is not first  # re-minted, same key id
    assert clients.client("lambda", creds()) is not first
    assert clients.cached_clients == 3


def test_the_cache_is_a_bounded_lru(clients: AwsClients) -> None:
    a = clients.client("s3", creds("A"))
    b = clients.client("s3", creds("B"))
    c = clients.client("s3", creds("C"))
    assert clients.client("s3", creds("A")) is a  # A is now the most recently used
    clients.client("s3", creds("D"))  # evicts B, the least recently used
    assert clients.cached_clients == 3
    assert clients.client("s3", creds("A")) is a
    assert clients.client("s3", creds("C")) is c
    assert clients.client("s3", creds("B")) is not b


def test_no_credentials_means_an_unsigned_client(clients: AwsClients) -> None:
    unsigned = clients.client("cognito-identity", None)
    assert unsigned.meta.config.signature_version is UNSIGNED
    assert clients.client("cognito-identity", None) is unsigned
    signed = clients.client("s3", creds())
    assert signed.meta.config.signature_version is not UNSIGNED
    assert signed._request_signer._credentials.access_key == "ASIAEXAMPLE1"


def test_the_service_client_signs_with_the_default_chain_and_outlives_the_lru(
    clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASERVICEOWN01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    own = clients.service_client("s3")
    for user in "ABCD":  # more users than the LRU holds
        clients.client("s3", creds(user))

    assert clients.service_client("s3") is own
    assert own.meta.config.signature_version == "s3v4"
    assert own._request_signer._credentials.access_key == "AKIASERVICEOWN01"
    assert clients.cached_clients == 3


def test_clients_carry_the_region_pool_timeouts_and_standard_retries(
    clients: AwsClients,
) -> None:
    config = clients.client("s3", creds()).meta.config
    assert clients.client("s3", creds()).meta.region_name == "eu-west-1"
    assert config.max_pool_connections == 4
    assert (config.connect_timeout, config.read_timeout) == (2.0, 10.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert clients.client("sts", None).meta.config.max_pool_connections == 4


def test_retries_follow_boto3_standard_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    configured = AwsClients(region="eu-west-1")
    try:
        retries = configured.client("lambda", creds()).meta.config.retries
    finally:
        configured.close()
    assert retries == {"mode": "adaptive", "total_max_attempts": 1}


def test_the_region_comes_from_boto3_configuration_else_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert configured_region("us-east-1") == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert configured_region("us-east-1") == "ap-south-1"


def test_the_endpoint_comes_from_boto3_standard_configuration(
    clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:2")
    assert clients.client("s3", creds()).meta.endpoint_url == "http://127.0.0.1:1"
    assert clients.client("lambda", creds()).meta.endpoint_url == "http://127.0.0.1:2"


def _meet_at(barrier: threading.Barrier) -> str:
    barrier.wait()  # raises BrokenBarrierError unless every worker is there at once
    return threading.current_thread().name


async def test_the_pool_runs_as_many_calls_at_once_as_there_are_pooled_connections(
    clients: AwsClients,
) -> None:
    assert clients.executor._max_workers == clients.max_pool_connections
    barrier = threading.Barrier(clients.max_pool_connections, timeout=5)
    names = await asyncio.gather(
        *(
            clients.run(lambda: (barrier.wait(), threading.current_thread().name)[1])
            for _ in range(4)
        )
    )
    assert all(name.startswith("aws") for name in names)
    assert len(set(names)) == 4


async def test_a_pooled_client_is_built_by_its_first_call_in_the_pool_not_before(
    clients: AwsClients,
) -> None:
    pooled = clients.in_pool("s3", creds())
    assert clients.cached_clients == 0  # nothing built on the event loop

    assert await clients.run(pooled.can_paginate, "list_objects_v2") is True

    assert clients.cached_clients == 1
    assert clients.client("s3", creds()).can_paginate("list_objects_v2") is True


async def test_run_passes_arguments_and_raises_what_the_call_raises(clients: AwsClients) -> None:
    assert await clients.run(divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        await clients.run(divmod, 1, 0)


def test_close_closes_cached_clients_and_the_pool() -> None:
    clients = AwsClients(region="us-east-1")
    clients.client("s3", creds())
    clients.close()
    assert clients.cached_clients == 0
    with pytest.raises(RuntimeError):
        clients.executor.submit(print)


def client_error(code: str, status: int, message: str = "upstream said no") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "ListBuckets",
    )


EXPIRED_MESSAGE = "The security token included in the request is expired"
URL = "http://127.0.0.1:1"


@pytest.mark.parametrize(
    ("error", "expected", "retryable"),
    [
        (client_error("AccessDenied", 403), AccessDeniedError, False),
        (client_error("AccessDeniedException", 403), AccessDeniedError, False),
        (client_error("NotAuthorizedException", 400), AccessDeniedError, False),
        (client_error("Forbidden", 403), AccessDeniedError, False),
        (client_error("403", 403), AccessDeniedError, False),
        (
            client_error("InvalidClientTokenId", 403, "The token is invalid"),
            AccessDeniedError,
            False,
        ),
        (client_error("NoSuchBucket", 404), NotFoundError, False),
        (client_error("NoSuchKey", 404), NotFoundError, False),
        (client_error("404", 404), NotFoundError, False),
        (client_error("NotFound", 404), NotFoundError, False),
        (client_error("ResourceNotFoundException", 404), NotFoundError, False),
        (client_error("Throttling", 400), RateLimitedError, True),
        (client_error("ThrottlingException", 400), RateLimitedError, True),
        (client_error("TooManyRequestsException", 429), RateLimitedError, True),
        (client_error("SlowDown", 503), RateLimitedError, True),
        (client_error("RequestLimitExceeded", 400), RateLimitedError, True),
        (client_error("ExpiredToken", 400), ExpiredCredentialsError, True),
        (client_error("ExpiredTokenException", 403), ExpiredCredentialsError, True),
        (client_error("RequestExpired", 400), ExpiredCredentialsError, True),
        (client_error("InvalidClientTokenId", 403, EXPIRED_MESSAGE), ExpiredCredentialsError, True),
        (client_error("ServiceUnavailable", 503), UpstreamUnavailableError, True),
        (client_error("InternalError", 500), UpstreamUnavailableError, True),
        (client_error("BucketAlreadyExists", 409), OperationFailedError, False),
        (EndpointConnectionError(endpoint_url=URL), UpstreamUnavailableError, True),
        (ConnectTimeoutError(endpoint_url=URL), UpstreamUnavailableError, True),
        (ReadTimeoutError(endpoint_url=URL), UpstreamUnavailableError, True),
        (ConnectionClosedError(endpoint_url=URL), UpstreamUnavailableError, True),
        (ParamValidationError(report="bad"), OperationFailedError, False),
    ],
)
def test_botocore_errors_map_to_one_code_each(
    error: BaseException, expected: type[ConnectorError], retryable: bool
) -> None:
    mapped = map_aws_error(error, ErrorCode.LIST_BUCKETS_FAILED)
    assert type(mapped) is expected
    upstream = (
        error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    )
    assert mapped.details["operation"] == "LIST_BUCKETS"
    assert mapped.details["upstreamCode"] == upstream
    assert mapped.details["retryable"] is retryable
    if expected is OperationFailedError:
        assert mapped.error_code is ErrorCode.LIST_BUCKETS_FAILED
    if expected in (RateLimitedError, UpstreamUnavailableError):
        assert getattr(mapped, "retry_after", None) == 2
        assert mapped.details["retryAfter"] == 2


def test_mapped_errors_never_carry_what_aws_or_the_request_said() -> None:
    leaked: Any = client_error("AccessDenied", 403, f"denied for {SECRET}")
    mapped = map_aws_error(leaked, ErrorCode.GET_OBJECT_FAILED)
    assert SECRET not in mapped.message
    assert SECRET not in repr(mapped.details)
    odd = client_error("Weird Code <script>", 400)
    assert map_aws_error(odd, ErrorCode.GET_OBJECT_FAILED).details["upstreamCode"] == "Unknown"


def test_a_connector_error_passes_through_unchanged() -> None:
    original = NotFoundError("gone")
    assert map_aws_error(original, ErrorCode.GET_OBJECT_FAILED) is original


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, AccessDeniedError),  # sts:AssumeRole of a role not trusting us
        ("InvalidIdentityToken", 400, AccessDeniedError),  # AssumeRoleWithWebIdentity
        ("NotAuthorizedException", 400, AccessDeniedError),  # Cognito Identity
        ("InvalidRange", 416, ValidationError),  # S3
        ("LimitExceededException", 400, RateLimitedError),  # Cognito Identity
    ],
)
def test_every_service_goes_through_one_table_and_one_context_manager(
    code: str, status: int, expected: type[ConnectorError]
) -> None:
    with pytest.raises(expected) as raised, translated(ErrorCode.GET_CONNECTION_FAILED):
        raise client_error(code, status)
    assert raised.value.details["upstreamCode"] == code
    assert isinstance(raised.value.__cause__, ClientError)
