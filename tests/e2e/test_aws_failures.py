"""AWS failing under the connector: unreachable, throttling, erroring. Always an envelope with
its code (and Retry-After when worth retrying), never a 500. Cognito Identity stays on moto;
only S3 / Lambda are pointed elsewhere, through boto3's standard per-service endpoint variables."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.aws_world import connect_alice, headers
from support.envelopes import assert_envelope
from support.oauth_world import CognitoWorld, Instance
from support.servers import free_port as closed_port

from connector.errors import ErrorCode

# (status, S3's XML error code, Lambda's JSON error type) the fake AWS answers with.
FAILURE = {"s3": (503, "SlowDown"), "lambda": (429, "TooManyRequestsException")}


class _FailingAws(BaseHTTPRequestHandler):
    """Answers every request with the error in `server.answer` (status, code)."""

    def _fail(self) -> None:
        status, code = self.server.answer  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if code.endswith("Exception"):  # Lambda: rest-json errors
            body = f'{{"Type": "User", "message": "{code}"}}'.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", code)
        else:  # S3: rest-xml errors
            body = f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _fail  # noqa: N815 - http.server names

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Quiet."""


@pytest.fixture(autouse=True)
def one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore would retry these failures twice with back-off first (boto3's standard
    AWS_MAX_ATTEMPTS is honoured); the mapping of the final failure is what is tested."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def failing_aws() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def alice_key(world: CognitoWorld, replica: Instance) -> dict[str, str]:
    await connect_alice(world, replica)
    return headers(await world.key(replica, "s3:read", "s3:write", "lambda:read", "lambda:invoke"))


async def test_unreachable_aws_is_upstream_unavailable_with_retry_after(
    world: CognitoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", dead)
    replica = await world.instance()
    alice = await alice_key(world, replica)
    for answer in (
        await replica.client.get("/s3/buckets", headers=alice),
        await replica.client.get("/s3/buckets/alice-data/objects/k", headers=alice),
        await replica.client.put("/s3/buckets/alice-data/objects/k", headers=alice, content=b"x"),
        await replica.client.get("/lambda/functions", headers=alice),
    ):
        assert_envelope(answer, ErrorCode.UPSTREAM_UNAVAILABLE)
        details = answer.json()["details"]
        assert details["retryable"] is True
        assert answer.headers["retry-after"] == str(details["retryAfter"])


@pytest.mark.parametrize(
    ("service", "path"),
    [("s3", "/s3/buckets/alice-data/objects"), ("lambda", "/lambda/functions/echo")],
)
async def test_throttling_is_rate_limited_with_retry_after(
    world: CognitoWorld,
    failing_aws: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    path: str,
) -> None:
    failing_aws.answer = FAILURE[service]  # type: ignore[attr-defined]
    host, port = failing_aws.server_address[:2]
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", f"http://{host!s}:{port}")
    replica = await world.instance()
    answer = await replica.client.get(path, headers=await alice_key(world, replica))
    assert_envelope(answer, ErrorCode.RATE_LIMITED)
    details = answer.json()["details"]
    assert details["upstreamCode"] == FAILURE[service][1]
    assert answer.headers["retry-after"] == str(details["retryAfter"])


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((403, "AccessDenied"), ErrorCode.ACCESS_DENIED),
        ((400, "InvalidArgument"), ErrorCode.LIST_OBJECTS_FAILED),
        ((500, "InternalError"), ErrorCode.UPSTREAM_UNAVAILABLE),
    ],
)
async def test_s3_errors_map_to_their_codes(
    world: CognitoWorld,
    failing_aws: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    answer: tuple[int, str],
    code: ErrorCode,
) -> None:
    failing_aws.answer = answer  # type: ignore[attr-defined]
    host, port = failing_aws.server_address[:2]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host!s}:{port}")
    replica = await world.instance()
    alice = await alice_key(world, replica)
    response = await replica.client.get("/s3/buckets/alice-data/objects", headers=alice)
    assert_envelope(response, code)
    body = response.json()
    assert body["details"]["upstreamCode"] == answer[1]
    assert body["details"]["operation"] == "LIST_OBJECTS"
    assert body["error"] != "m"  # AWS's message text is never echoed
