"""S3Service, FunctionService and ActingAsUser over recording fakes: what is checked before any
call, what reaches the gateway, and the one re-mint after AWS refuses expired credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.factories import make_api_key, make_aws_credentials
from support.fakes import FixedClock

from connector.domain.aws import (
    AwsCredentials,
    Bucket,
    FunctionPage,
    FunctionSummary,
    InvokeResult,
    ObjectPage,
)
from connector.domain.models import ApiKey, Scope
from connector.errors import (
    ExpiredCredentialsError,
    NotConnectedError,
    PermissionDeniedError,
    UpstreamUnavailableError,
    ValidationError,
)
from connector.services.acting import ActingAsUser
from connector.services.functions import FunctionService
from connector.services.s3 import REPLAY_BUDGET, S3Service

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
EVERYTHING = frozenset(Scope)


def key(scopes: frozenset[Scope] = EVERYTHING, **policy: Any) -> ApiKey:
    patterns = {name: tuple(policy.get(name, ())) for name in ("buckets", "functions")}
    read_only = policy.get("read_only", False)
    return make_api_key("k1", "test", scopes=scopes, read_only=read_only, **patterns)


def creds(n: int, lifetime: float = 3600) -> AwsCredentials:
    return make_aws_credentials(
        access_key_id=f"AKIA{n}",
        session_token=f"token-{n}",
        expiration=NOW + timedelta(seconds=lifetime),
        issued_at=NOW,
    )


class FakeCredentials:
    """Hands out credentials #1, then a new number on each forced mint."""

    def __init__(self, *, connected: bool = True, lifetime: float = 3600) -> None:
        self.connected = connected
        self.lifetime = lifetime
        self.calls: list[tuple[str, bool]] = []
        self.keys: list[ApiKey | None] = []
        self.valid_for: list[timedelta | None] = []
        self.minted = 1

    async def get_credentials(
        self,
        user_id: str,
        *,
        key: ApiKey | None = None,
        force: bool = False,
        valid_for: timedelta | None = None,
    ) -> AwsCredentials:
        self.calls.append((user_id, force))
        self.keys.append(key)
        self.valid_for.append(valid_for)
        if not self.connected:
            raise NotConnectedError("no connection")
        if force:
            self.minted += 1
        return creds(self.minted, self.lifetime)


class FakeStorage:
    """Records each call with the credentials used; fails with `failures` first, in order."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.bodies: list[bytes] = []
        self.read_before_failing = 0

    def _record(self, name: str, c: AwsCredentials, *args: Any) -> None:
        self.calls.append((name, c.access_key_id, args))
        if self.failures:
            raise self.failures.pop(0)

    async def list_buckets(self, c: AwsCredentials) -> list[Bucket]:
        self._record("list_buckets", c)
        return [Bucket(name=n, creation_date=NOW) for n in ("alice-data", "team-x", "alice-logs")]

    async def list_objects(self, c: AwsCredentials, bucket: str, **kw: Any) -> ObjectPage:
        self._record("list_objects", c, bucket, tuple(sorted(kw.items())))
        return ObjectPage(
            objects=(), common_prefixes=(), is_truncated=False, next_continuation_token=None
        )

    async def open_object(self, c: AwsCredentials, bucket: str, key: str, **kw: Any) -> Any:
        self._record("open_object", c, bucket, key, kw.get("range_header"))
        return "opened"

    async def put_object(
        self, c: AwsCredentials, bucket: str, key: str, chunks: AsyncIterator[bytes], **kw: Any
    ) -> tuple[str | None, str | None]:
        received = bytearray()
        async for chunk in chunks:
            received += chunk
            if self.failures and len(received) >= self.read_before_failing:
                break
        if self.failures:
            self._record("put_object", c, bucket, key)
        async for chunk in chunks:
            received += chunk
        self._record("put_object", c, bucket, key, kw["content_type"], kw["content_length"])
        self.bodies.append(bytes(received))
        return '"etag"', "v1"

    async def delete_object(self, c: AwsCredentials, bucket: str, key: str) -> None:
        self._record("delete_object", c, bucket, key)

    async def presign(self, c: AwsCredentials, bucket: str, key: str, **kw: Any) -> str:
        self._record("presign", c, bucket, key, kw["method"], kw["expires_in"])
        return f"https://s3.example/{bucket}/{key}?signed-by={c.access_key_id}"


class FakeRuntime:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def list_functions(self, c: AwsCredentials, **kw: Any) -> FunctionPage:
        self.calls.append(("list_functions", tuple(sorted(kw.items()))))
        names = ("reports-daily", "billing", "reports-weekly")
        return FunctionPage(
            functions=tuple(
                FunctionSummary(
                    name=n,
                    arn=f"arn:aws:lambda:us-east-1:123456789012:function:{n}",
                    runtime=None,
                    handler=None,
                    description=None,
                    memory_size=None,
                    timeout=None,
                    last_modified=None,
                )
                for n in names
            ),
            next_marker="m2",
        )

    async def get_function(self, c: AwsCredentials, name: str) -> Any:
        self.calls.append(("get_function", (name,)))
        return name

    async def invoke(self, c: AwsCredentials, name: str, payload: bytes, **kw: Any) -> InvokeResult:
        self.calls.append(("invoke", (name, payload, kw["invocation_type"], kw["log_type"])))
        return InvokeResult(
            status_code=200,
            payload=None,
            function_error=None,
            log_result=None,
            executed_version="$LATEST",
        )


def s3(storage: FakeStorage, credentials: FakeCredentials | None = None) -> S3Service:
    acting = ActingAsUser(credentials or FakeCredentials())  # type: ignore[arg-type]
    return S3Service(acting=acting, storage=storage, clock=FixedClock(NOW))


def functions(runtime: FakeRuntime) -> FunctionService:
    return FunctionService(acting=ActingAsUser(FakeCredentials()), runtime=runtime)  # type: ignore[arg-type]


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


# --- checks before any call ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "call"),
    [
        (key(buckets=["alice-*"]), lambda s, k: s.list_objects(k, "alice", "team-x")),
        (
            key(buckets=["alice-data"]),
            lambda s, k: s.open_object(k, "alice", "alice-data.backup", "k"),
        ),
        (
            key(frozenset({Scope.S3_READ})),
            lambda s, k: s.presign(k, "alice", "alice-data", "k", method="PUT"),
        ),
        (
            key(frozenset({Scope.S3_WRITE})),
            lambda s, k: s.presign(k, "alice", "alice-data", "k", method="GET"),
        ),
    ],
)
async def test_s3_refusals_happen_before_credentials_or_aws(caller: ApiKey, call: Any) -> None:
    storage, credentials = FakeStorage(), FakeCredentials()
    with pytest.raises(PermissionDeniedError):
        await call(s3(storage, credentials), caller)
    assert (storage.calls, credentials.calls) == ([], [])


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s, k: s.list_objects(k, "alice", "Bad_Bucket"), "bucket"),
        (lambda s, k: s.list_objects(k, "alice", "alice-data", max_keys=0), "maxKeys"),
        (lambda s, k: s.list_objects(k, "alice", "alice-data", prefix="p" * 1025), "prefix"),
        (lambda s, k: s.list_objects(k, "alice", "alice-data", delimiter=""), "delimiter"),
        (
            lambda s, k: s.list_objects(k, "alice", "alice-data", continuation_token="t" * 5000),
            "continuationToken",
        ),
        (lambda s, k: s.open_object(k, "alice", "alice-data", ""), "key"),
        (
            lambda s, k: s.put_object(k, "alice", "alice-data", "k", body(), content_type="a\nb"),
            "contentType",
        ),
        (
            lambda s, k: s.put_object(k, "alice", "alice-data", "k", body(), content_length=-1),
            "contentLength",
        ),
        (
            lambda s, k: s.presign(k, "alice", "alice-data", "k", method="GET", expires_in=3601),
            "expiresIn",
        ),
        (lambda s, k: s.presign(k, "alice", "alice-data", "k", method="POST"), "method"),
    ],
)
async def test_s3_bad_input_is_refused_before_any_call(call: Any, field: str) -> None:
    storage, credentials = FakeStorage(), FakeCredentials()
    with pytest.raises(ValidationError) as raised:
        await call(s3(storage, credentials), key())
    assert raised.value.details["field"] == field
    assert (storage.calls, credentials.calls) == ([], [])


async def test_bucket_listings_show_only_what_the_policy_covers() -> None:
    service = s3(FakeStorage())
    visible = await service.list_buckets(key(buckets=["alice-*"]), "alice")
    assert [b.name for b in visible] == ["alice-data", "alice-logs"]
    everything = await service.list_buckets(key(), "alice")
    assert len(everything) == 3


async def test_function_policy_matches_the_bare_name_of_names_arns_and_qualifiers() -> None:
    runtime = FakeRuntime()
    service = functions(runtime)
    caller = key(functions=["reports-*"])
    for name in (
        "reports-daily",
        "reports-daily:prod",
        "arn:aws:lambda:us-east-1:123456789012:function:reports-daily:7",
        "123456789012:function:reports-daily",
    ):
        assert await service.get_function(caller, "alice", name) == name
    for name in ("billing", "arn:aws:lambda:us-east-1:123456789012:function:billing:reports-x"):
        with pytest.raises(PermissionDeniedError):
            await service.get_function(caller, "alice", name)
    page = await service.list_functions(caller, "alice", max_items=3)
    assert [f.name for f in page.functions] == ["reports-daily", "reports-weekly"]
    assert page.next_marker == "m2"  # paging goes on past what the policy hides


async def test_invoke_sends_the_payload_as_json() -> None:
    runtime = FakeRuntime()
    service = functions(runtime)
    await service.invoke(key(), "alice", "echo", {"a": [1, 2]}, log_type="Tail")
    await service.invoke(key(), "alice", "echo", None, invocation_type="Event")
    assert runtime.calls == [
        ("invoke", ("echo", b'{"a":[1,2]}', "RequestResponse", "Tail")),
        ("invoke", ("echo", b"null", "Event", "None")),
    ]
    with pytest.raises(PermissionDeniedError):  # outside the key's function policy
        await service.invoke(key(functions=["reports-*"]), "alice", "echo", {})
    with pytest.raises(ValidationError):
        await service.invoke(key(), "alice", "echo", {}, invocation_type="DryRun")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await service.invoke(key(), "alice", "echo", object())
    assert len(runtime.calls) == 2


# --- presign ---------------------------------------------------------------------------------


async def test_a_presigned_url_expires_no_later_than_its_credentials() -> None:
    storage = FakeStorage()
    long_lived = s3(storage, FakeCredentials(lifetime=3600))
    signed = await long_lived.presign(key(), "alice", "alice-data", "k", method="GET")
    assert signed.expires_at == NOW + timedelta(seconds=900)  # the default
    short_lived = s3(storage, FakeCredentials(lifetime=600))
    capped = await short_lived.presign(
        key(), "alice", "alice-data", "k", method="PUT", expires_in=3600
    )
    assert capped.expires_at == NOW + timedelta(seconds=600)
    assert storage.calls[-1] == ("presign", "AKIA1", ("alice-data", "k", "PUT", 3600))


async def test_presign_asks_for_credentials_lasting_as_long_as_the_url() -> None:
    credentials = FakeCredentials()
    caller = key()
    await s3(FakeStorage(), credentials).presign(
        caller, "alice", "alice-data", "k", method="GET", expires_in=1200
    )
    assert credentials.valid_for == [timedelta(seconds=1200)]
    assert credentials.keys == [caller]  # acting for the caller's key: narrowed if restricted


# --- the one re-mint -----------------------------------------------------------------------


async def test_expired_credentials_are_re_minted_once_and_the_call_retried() -> None:
    storage, credentials = FakeStorage(ExpiredCredentialsError("expired")), FakeCredentials()
    buckets = await s3(storage, credentials).list_buckets(key(), "alice")
    assert len(buckets) == 3
    assert credentials.calls == [("alice", False), ("alice", True)]
    assert [c[1] for c in storage.calls] == ["AKIA1", "AKIA2"]


async def test_fresh_credentials_refused_as_well_are_upstream_unavailable() -> None:
    storage = FakeStorage(
        ExpiredCredentialsError("expired", details={"upstreamCode": "ExpiredToken"}),
        ExpiredCredentialsError("expired", details={"upstreamCode": "ExpiredToken"}),
    )
    with pytest.raises(UpstreamUnavailableError) as raised:
        await s3(storage).delete_object(key(), "alice", "alice-data", "k")
    assert raised.value.details["upstreamCode"] == "ExpiredToken"
    assert raised.value.retry_after >= 1
    assert len(storage.calls) == 2  # never a third


async def test_a_refused_put_is_replayed_with_its_whole_body() -> None:
    storage = FakeStorage(ExpiredCredentialsError("expired"))
    storage.read_before_failing = 3 << 20
    chunks = [bytes([n]) * (1 << 20) for n in range(6)]
    stored = await s3(storage).put_object(
        key(),
        "alice",
        "alice-data",
        "k",
        body(*chunks),
        content_type="text/csv",
        content_length=6 << 20,
    )
    assert stored.etag == '"etag"'
    assert storage.bodies == [b"".join(chunks)]
    assert storage.calls[-1] == ("put_object", "AKIA2", ("alice-data", "k", "text/csv", 6 << 20))


async def test_a_put_that_read_past_the_replay_budget_is_not_replayed() -> None:
    storage, credentials = FakeStorage(ExpiredCredentialsError("expired")), FakeCredentials()
    storage.read_before_failing = REPLAY_BUDGET + (1 << 20)
    chunks = [b"x" * (1 << 20)] * (REPLAY_BUDGET // (1 << 20) + 2)
    with pytest.raises(UpstreamUnavailableError, match="send it again"):
        await s3(storage, credentials).put_object(key(), "alice", "alice-data", "k", body(*chunks))
    # The next request finds credentials minted after the refusal.
    assert credentials.calls == [("alice", False), ("alice", True)]
    assert storage.bodies == []


async def test_a_user_without_a_connection_is_not_connected() -> None:
    storage = FakeStorage()
    with pytest.raises(NotConnectedError):
        await s3(storage, FakeCredentials(connected=False)).list_buckets(key(), "nobody")
    assert storage.calls == []
