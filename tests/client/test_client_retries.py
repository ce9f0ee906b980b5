"""Retries: only what the connector calls retryable, only bodies that can be sent again, at most
`max_attempts` times, waiting Retry-After (capped) or an exponential backoff; never a real sleep."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from connector_client import (
    ErrorCode,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    UnexpectedResponseError,
    UpstreamUnavailableError,
)
from connector_client.errors import ConnectorClientError
from support.client_harness import NO_JITTER, MakeFlavour, ok, refusal

BUCKETS = {"buckets": [{"name": "b", "creationDate": None}]}
STORED = {"bucket": "b", "key": "k", "etag": '"e"', "versionId": None}
UNAVAILABLE = refusal(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    details={"retryable": True, "retryAfter": 2},
    headers={"Retry-After": "2"},
)


def test_a_retryable_failure_is_retried_after_its_retry_after(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(UNAVAILABLE, ok(BUCKETS))
    buckets = flavour.run(lambda client: client.list_buckets("alice"))
    assert [bucket.name for bucket in buckets] == ["b"]
    assert len(flavour.fake.requests) == 2
    assert flavour.sleeps == [2.0]


def test_retries_stop_after_max_attempts_and_raise_the_last_failure(
    make_flavour: MakeFlavour,
) -> None:
    throttled = refusal(ErrorCode.RATE_LIMITED, details={"retryable": True, "retryAfter": 1})
    flavour = make_flavour(throttled, retry=RetryPolicy(max_attempts=4))
    with pytest.raises(RateLimitedError) as raised:
        flavour.run(lambda client: client.list_buckets("alice"))
    assert raised.value.retry_after == 1.0
    assert raised.value.retryable
    assert len(flavour.fake.requests) == 4
    assert flavour.sleeps == [1.0, 1.0, 1.0]


def test_without_retry_after_the_backoff_doubles_through_the_jitter(
    make_flavour: MakeFlavour,
) -> None:
    flaky = refusal(ErrorCode.UPSTREAM_UNAVAILABLE, details={"retryable": True})
    halves = RetryPolicy(max_attempts=4, backoff=0.5, jitter=lambda ceiling: ceiling / 2)
    flavour = make_flavour(flaky, retry=halves)
    with pytest.raises(UpstreamUnavailableError):
        flavour.run(lambda client: client.list_buckets("alice"))
    assert flavour.sleeps == [0.25, 0.5, 1.0]


def test_a_long_retry_after_is_capped_at_max_delay(make_flavour: MakeFlavour) -> None:
    later = refusal(ErrorCode.RATE_LIMITED, details={"retryable": True, "retryAfter": 3600})
    flavour = make_flavour(later, ok(BUCKETS), retry=RetryPolicy(max_delay=5.0))
    flavour.run(lambda client: client.list_buckets("alice"))
    assert flavour.sleeps == [5.0]


@pytest.mark.parametrize(
    "refused",
    [
        refusal(ErrorCode.NOT_FOUND, details={"retryable": False}),
        refusal(ErrorCode.LIST_BUCKETS_FAILED, details={"retryable": False}),
        refusal(ErrorCode.INTERNAL_ERROR),
        httpx.Response(503, text="no envelope and no Retry-After"),
    ],
)
def test_a_failure_not_called_retryable_is_raised_at_once(
    make_flavour: MakeFlavour, refused: httpx.Response
) -> None:
    flavour = make_flavour(refused, ok(BUCKETS))
    with pytest.raises(ConnectorClientError):
        flavour.run(lambda client: client.list_buckets("alice"))
    assert len(flavour.fake.requests) == 1
    assert flavour.sleeps == []


def test_a_503_without_an_envelope_but_with_retry_after_is_retried(
    make_flavour: MakeFlavour,
) -> None:
    proxy = httpx.Response(503, text="maintenance", headers={"Retry-After": "3"})
    flavour = make_flavour(proxy, ok(BUCKETS))
    flavour.run(lambda client: client.list_buckets("alice"))
    assert flavour.sleeps == [3.0]


def test_retry_after_as_an_http_date_is_honoured(make_flavour: MakeFlavour) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    flavour = make_flavour(httpx.Response(429, headers={"Retry-After": when}), ok(BUCKETS))
    flavour.run(lambda client: client.list_buckets("alice"))
    assert 15 < flavour.sleeps[0] <= 20


def test_one_attempt_means_no_retry(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(UNAVAILABLE, ok(BUCKETS), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(UpstreamUnavailableError):
        flavour.run(lambda client: client.list_buckets("alice"))
    assert len(flavour.fake.requests) == 1


def test_a_streamed_body_is_never_sent_twice(make_flavour: MakeFlavour) -> None:
    flavour = make_flavour(UNAVAILABLE, ok(STORED))
    chunks = iter([b"part one, ", b"part two"])
    with pytest.raises(UpstreamUnavailableError):
        flavour.run(lambda client: client.put_object("alice", "b", "k", chunks))
    assert flavour.fake.bodies == [b"part one, part two"]
    assert flavour.sleeps == []


def test_a_seekable_file_is_sent_again_from_where_it_stood(make_flavour: MakeFlavour) -> None:
    file = io.BytesIO(b"header|the body")
    file.seek(len(b"header|"))
    flavour = make_flavour(UNAVAILABLE, ok(STORED))
    flavour.run(lambda client: client.put_object("alice", "b", "k", file))
    assert flavour.fake.bodies == [b"the body", b"the body"]
    assert {r.headers["content-length"] for r in flavour.fake.requests} == {"8"}


def test_an_uploaded_file_is_read_again_from_disk_for_a_retry(
    make_flavour: MakeFlavour, tmp_path: Path
) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    flavour = make_flavour(UNAVAILABLE, ok(STORED))
    flavour.run(lambda client: client.upload_file("alice", path, "b", "k"))
    assert flavour.fake.bodies == [b"a,b\n1,2\n"] * 2
    assert flavour.fake.last.headers["content-type"] == "text/csv"


def test_a_retried_download_keeps_no_trace_of_the_failed_attempt(
    make_flavour: MakeFlavour, tmp_path: Path
) -> None:
    flavour = make_flavour(UNAVAILABLE, httpx.Response(200, content=b"whole"))
    saved = flavour.run(lambda client: client.download_file("alice", "b", "k", tmp_path / "f"))
    assert saved.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_an_invoke_is_retried_when_throttled_but_not_when_it_may_have_run(
    make_flavour: MakeFlavour,
) -> None:
    result = {"statusCode": 200, "payload": None, "functionError": None}
    throttled = refusal(ErrorCode.RATE_LIMITED, details={"retryable": True, "retryAfter": 1})
    flavour = make_flavour(throttled, ok({**result, "logResult": None, "executedVersion": None}))
    assert flavour.run(lambda client: client.invoke("alice", "f", {})).status_code == 200
    assert len(flavour.fake.requests) == 2
    flavour = make_flavour(UNAVAILABLE, ok(result))
    with pytest.raises(UpstreamUnavailableError):
        flavour.run(lambda client: client.invoke("alice", "f", {}))
    assert len(flavour.fake.requests) == 1


def test_the_policy_gives_up_on_the_last_attempt_and_on_non_retryable_errors() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=1.0, max_delay=3.0, jitter=lambda c: c)
    retryable = UpstreamUnavailableError("x", details={"retryable": True})
    assert [policy.delay(n, retryable) for n in (1, 2, 3)] == [1.0, 2.0, None]
    assert RetryPolicy(max_attempts=9, backoff=1.0, max_delay=3.0).delay(5, retryable) is not None
    assert NO_JITTER.delay(1, NotFoundError("x", details={"retryable": False})) is None
    assert NO_JITTER.delay(1, UnexpectedResponseError("x", status=429, retry_after=0.0)) == 0.0
